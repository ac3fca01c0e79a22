"""A small client of the PingIDM workflow REST API: start a process, wait for one of its tasks,
complete it. An example of code that a downstream project tests against mockidm."""

from __future__ import annotations

import time
from typing import Any

import requests

__all__ = ["IdmWorkflowClient", "TaskTimeout", "WorkflowError"]

# Answers worth another poll: the server is busy or restarting, not the request wrong.
TRANSIENT = frozenset({502, 503, 504})


class WorkflowError(Exception):
    """IDM refused a request; `status` and `message` come from its error envelope."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"IDM answered {status}: {message}")
        self.status, self.message = status, message


class TaskTimeout(WorkflowError):
    """The awaited task did not appear in time."""

    def __init__(self, instance_id: str, task_key: str, timeout: float) -> None:
        super().__init__(408, f"no task '{task_key}' in process instance {instance_id} "
                              f"after {timeout}s")


class IdmWorkflowClient:
    def __init__(self, base_url: str, user: str, password: str, *,
                 poll_interval: float = 0.05, http: requests.Session | None = None) -> None:
        """`base_url` ends in /openidm, e.g. https://idm.example.com/openidm."""
        self.base_url = base_url.rstrip("/")
        self.poll_interval = poll_interval
        self.http = http or requests.Session()
        self.http.headers.update({"X-OpenIDM-Username": user, "X-OpenIDM-Password": password,
                                  "X-OpenIDM-NoSession": "true"})

    def start(self, key: str, business_key: str | None = None, **variables: Any) -> str:
        """Start the latest version of process `key`; the new instance's id."""
        body = {"_key": key, **variables}
        if business_key is not None:
            body["_businessKey"] = business_key
        created = self._call("POST", "workflow/processinstance",
                             params={"_action": "create"}, json=body)
        return str(created["_id"])

    def wait_for_task(self, instance_id: str, task_key: str, timeout: float = 10.0
                      ) -> dict[str, Any]:
        """Poll until the instance has an active task `task_key` (its taskDefinitionKey)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                tasks = self._call("GET", "workflow/taskinstance", params={
                    "_queryId": "filtered-query", "processInstanceId": instance_id})["result"]
            except WorkflowError as error:
                if error.status not in TRANSIENT:
                    raise
                tasks = []
            for task in tasks:
                if task.get("taskDefinitionKey") == task_key:
                    return task
            if time.monotonic() >= deadline:
                raise TaskTimeout(instance_id, task_key, timeout)
            time.sleep(self.poll_interval)

    def complete(self, task_id: str, **variables: Any) -> None:
        """Complete a task; `variables` become process variables."""
        self._call("POST", f"workflow/taskinstance/{task_id}",
                   params={"_action": "complete"}, json=variables)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, f"{self.base_url}/{path}", timeout=30, **kwargs)
        if response.status_code >= 400:
            try:
                message = response.json().get("message") or response.reason
            except ValueError:
                message = response.reason
            raise WorkflowError(response.status_code, message)
        return response.json()
