"""An HTTP client that speaks IDM, for tests against a live mock (conftest's `idm`)."""

from __future__ import annotations

from typing import Any

import requests

from mockidm import Engine
from mockidm.server import ThreadedServer

ADMIN = {"X-OpenIDM-Username": "openidm-admin", "X-OpenIDM-Password": "openidm-admin",
         "X-OpenIDM-NoSession": "true"}


class Idm:
    """A live mock: `url` ends in /openidm; `engine` is its state (touch it via `server.call`)."""

    def __init__(self, server: ThreadedServer, engine: Engine) -> None:
        self.server, self.engine = server, engine
        self.url = server.url
        self.http = requests.Session()

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None,
                auth: bool = True, **kwargs: Any) -> requests.Response:
        """`path` is relative to /openidm: "workflow/processinstance?_queryId=query-all-ids"."""
        merged = {**(ADMIN if auth else {}), **(headers or {})}
        return self.http.request(method, f"{self.url}/{path.lstrip('/')}", headers=merged,
                                 **kwargs)

    def start(self, body: dict[str, Any]) -> requests.Response:
        return self.request("POST", "workflow/processinstance?_action=create", json=body)

    def query(self, path: str, params: str) -> list[dict[str, Any]]:
        """The items of a query that must succeed, its envelope checked."""
        response = self.request("GET", f"{path}?{params}")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["resultCount"] == len(body["result"])
        return body["result"]

    def found(self, path: str, params: str) -> list[str]:
        """The ids a filtered-query finds."""
        return [item["_id"] for item in self.query(path, f"_queryId=filtered-query&{params}")]


def ok(response: requests.Response, status: int = 200) -> Any:
    """The JSON of an answer that must have this status (the body is the assertion's message)."""
    assert response.status_code == status, response.text
    return response.json()


def start(idm: Idm, key: str, **body: Any) -> str:
    """Start the latest version of `key` over HTTP; the new instance's id."""
    return str(ok(idm.start({"_key": key, **body}), 201)["_id"])


def tasks(idm: Idm, **params: str) -> list[dict[str, Any]]:
    """The tasks a filtered query with these parameters finds."""
    query = "&".join(f"{k}={v}" for k, v in params.items())
    found: list[dict[str, Any]] = ok(idm.request(
        "GET", f"workflow/taskinstance?_queryId=filtered-query&{query}"))["result"]
    return found
