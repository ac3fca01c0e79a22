"""Shared fixtures: a live mock on a free loopback port (with `Idm`, a client that speaks IDM),
and a served MockIDM."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from definitions import deploy_definitions
from idm_client import Idm

from mockidm import Engine, MockIDM, create_app
from mockidm.server import ThreadedServer


def _serve(request: pytest.FixtureRequest, profile: str) -> Iterator[Idm]:
    engine = Engine()
    # A test module may deploy other definitions: `DEFINITIONS = deploy_samples` in it.
    getattr(request.module, "DEFINITIONS", deploy_definitions)(engine)
    server = ThreadedServer(lambda: create_app(engine, profile=profile, validate_responses=True))
    with server:
        yield Idm(server, engine)


@pytest.fixture
def idm(request: pytest.FixtureRequest) -> Iterator[Idm]:
    """A fresh mock (8.1 profile) with the module's definitions (tests/definitions.py unless
    the module names others in `DEFINITIONS`), for one test."""
    yield from _serve(request, "8.1")


@pytest.fixture
def idm65(request: pytest.FixtureRequest) -> Iterator[Idm]:
    """The same with the 6.5 profile."""
    yield from _serve(request, "6.5")


@pytest.fixture
def wren(request: pytest.FixtureRequest) -> Iterator[Idm]:
    """The same with the Wren:IDM profile."""
    yield from _serve(request, "wren")


@pytest.fixture
def mock() -> Iterator[MockIDM]:
    """A served `MockIDM()`: no definitions, the default users (modules extend it)."""
    with MockIDM().serve() as served:
        yield served
