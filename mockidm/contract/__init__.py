"""The contract kit: rules a PingIDM workflow server must honour, checked over HTTP only.

It never imports the mock's engine or HTTP layer, so it runs the same against `mockidm serve`
and against a real IDM. `mockidm contract --url URL` runs it from a shell; the pytest plugin
`mockidm.contract.pytest_plugin` runs it as one test per rule.

The names below load on first use, so that `mockidm.contract.cli` (and the `mockidm` command's
parser) imports without the kit's HTTP client, `requests`.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ERROR": "outcome", "FAILED": "outcome", "PASSED": "outcome", "SKIPPED": "outcome",
    "Result": "outcome", "RuleFailed": "outcome", "Skip": "outcome",
    "RULES": "rules", "Rule": "rules", "catalogue": "rules", "rule": "rules",
    "select": "rules",
    "Report": "runner", "run": "runner",
    "CleanupReport": "target", "Target": "target",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value
