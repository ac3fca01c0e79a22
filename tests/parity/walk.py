"""A client that walks one workflow as a real client would: start by key with a business key,
find the instance by it, claim and complete each task, read the history. Only its base URL
says whether it talks to IDM, to the mock, or to the recorder in front of either."""

from __future__ import annotations

import sys

import requests

HEADERS = {"X-OpenIDM-Username": "openidm-admin", "X-OpenIDM-Password": "openidm-admin",
           "X-OpenIDM-NoSession": "true", "Accept-API-Version": "resource=1.0"}


def walk(base: str, business_key: str = "order-42") -> list[int]:
    """The statuses it got, in order."""
    http = requests.Session()
    http.headers.update(HEADERS)
    statuses = []

    def call(method: str, path: str, **kwargs: object) -> requests.Response:
        response = http.request(method, base + path, timeout=10, **kwargs)  # type: ignore[arg-type]
        statuses.append(response.status_code)
        return response

    started = call("POST", "/workflow/processinstance?_action=create",
                   json={"_key": "contractorOnboarding", "_businessKey": business_key,
                         "contractorName": "Ada"}).json()
    call("GET", "/workflow/processinstance?_queryId=filtered-query"
                f"&processInstanceBusinessKey={business_key}")
    instance = started["_id"]
    for _ in range(2):  # the manager's approval, then HR's preparation
        tasks = call("GET", "/workflow/taskinstance?_queryId=filtered-query"
                            f"&processInstanceId={instance}").json()["result"]
        if not tasks:
            break
        task = tasks[0]["_id"]
        call("GET", f"/workflow/taskinstance/{task}")
        call("POST", f"/workflow/taskinstance/{task}?_action=claim",
             json={"userId": "openidm-admin"})
        call("POST", f"/workflow/taskinstance/{task}?_action=complete",
             json={"decision": "approve"})
    call("GET", f"/workflow/processinstance/history/{instance}")
    call("GET", "/workflow/taskinstance/history?_queryId=filtered-query"
                f"&processInstanceId={instance}")
    return statuses


if __name__ == "__main__":
    print(walk(sys.argv[1]))
