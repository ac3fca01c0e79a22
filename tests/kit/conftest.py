"""The kit's tests: the mock as the broken servers build it, unbroken."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from broken_servers import mock_app

from mockidm.server import ThreadedServer


@pytest.fixture
def mock() -> Iterator[ThreadedServer]:
    """Overrides tests/conftest.py's `mock`: the unbroken app of broken_servers.py, served."""
    with ThreadedServer(mock_app) as server:
        yield server
