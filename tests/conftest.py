"""Shared fixtures: a live mock on a free loopback port, and an HTTP client that speaks IDM."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from definitions import deploy_definitions

from mockidm import Engine, create_app
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


def _serve(profile: str = "8.1") -> Iterator[Idm]:
    engine = Engine()
    deploy_definitions(engine)
    server = ThreadedServer(lambda: create_app(engine, profile=profile, validate_responses=True))
    with server:
        yield Idm(server, engine)


@pytest.fixture
def idm() -> Iterator[Idm]:
    """A fresh mock (8.1 profile) with the sample definitions, for one test."""
    yield from _serve()


@pytest.fixture
def idm65() -> Iterator[Idm]:
    """A fresh mock with the 6.5 profile."""
    yield from _serve("6.5")
