"""One walk over HTTP that tells the wren profile from the others, for the tests that choose
the profile in each way a user can (command line, pytest option and marker, fixture file,
admin API, `mockidm compare`). It needs `tests/http/wren_workflows/access_approval.bpmn20.xml`
deployed; each assertion is one field of `Profile` that only Wren:IDM's port sets
(tests/http/test_wren_profile.py tests each against its Wren source)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

WORKFLOWS = Path(__file__).parent / "http" / "wren_workflows"
ADMIN = {"X-OpenIDM-Username": "openidm-admin", "X-OpenIDM-Password": "openidm-admin",
         "X-OpenIDM-NoSession": "true"}


def _ok(response: requests.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def assert_answers_as_wren(url: str, headers: dict[str, str] | None = None) -> None:
    """`url` ends in /openidm."""
    headers = headers or ADMIN
    http = requests.Session()
    http.headers.update(headers)
    started = _ok(http.post(f"{url}/workflow/processinstance?_action=create",
                            json={"_key": "accessApproval", "userName": "walk"}), 201)
    instance = started["_id"]
    # instance_variables
    read = _ok(http.get(f"{url}/workflow/processinstance/{instance}"))
    assert read["processVariables"] == {"userName": "walk"}
    [task] = _ok(http.get(f"{url}/workflow/taskinstance?_queryId=filtered-query"
                          f"&processInstanceId={instance}"))["result"]
    # role_prefix + candidate_user_groups: the bare-named admin group finds it
    mine = _ok(http.get(f"{url}/workflow/taskinstance?_queryId=filtered-query"
                        "&taskCandidateUser=openidm-admin"))["result"]
    assert task["_id"] in [t["_id"] for t in mine]
    # unknown_task_action_message
    refused = http.post(f"{url}/workflow/taskinstance/{task['_id']}?_action=approve", json={})
    assert refused.status_code == 400
    assert refused.json()["message"] == "Unknown action &#39;approve&#39;."
    # complete_variables_local
    _ok(http.post(f"{url}/workflow/taskinstance/{task['_id']}?_action=complete",
                  json={"result": "approve"}))
    history = _ok(http.get(f"{url}/workflow/processinstance/history/{instance}"))
    assert history["processVariables"] == {"userName": "walk", "decision": "approve"}
    assert history["tasks"][0]["taskLocalVariables"] == {"result": "approve"}
    # instance_delete_reason
    second = _ok(http.post(f"{url}/workflow/processinstance?_action=create",
                           json={"_key": "accessApproval"}), 201)["_id"]
    _ok(http.delete(f"{url}/workflow/processinstance/{second}"))
    gone = _ok(http.get(f"{url}/workflow/processinstance/history/{second}"))
    assert gone["deleteReason"] == "Deleted by Wren:IDM."
    # own_paging (and paging off): the task history pages by offset, instances do not
    paged = _ok(http.get(f"{url}/workflow/taskinstance/history?_queryId=query-all-ids"
                         "&_pageSize=1&_pagedResultsCookie=1"))
    assert paged["resultCount"] == 1 and paged["pagedResultsCookie"] == "1"
    everything = _ok(http.get(f"{url}/workflow/processinstance/history?_queryId=query-all-ids"
                              "&_pageSize=1"))
    assert everything["resultCount"] >= 2
    # unknown_query_messages
    unknown = http.get(f"{url}/workflow/taskinstance?_queryFilter=true")
    assert unknown.status_code == 400
    assert unknown.json()["message"] == "Unknown query &#39;null&#39; to get task instances."
