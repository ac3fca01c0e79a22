"""mockidm: a faithful mock of the PingIDM workflow REST API, and a kit to check real servers.

The public names load on first use, so that `import mockidm` (and the pytest plugin, which
every test run of a project that installs mockidm loads) stays cheap until they are needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .admin.client import AdminClient
    from .engine import Engine, FormProperty, UserTask, linear_process
    from .facade import MockIDM
    from .http.app import create_app
    from .identity import Identity
    from .profile import Profile, get_profile

_WHERE = {
    "AdminClient": ".admin.client",
    "Engine": ".engine",
    "FormProperty": ".engine",
    "UserTask": ".engine",
    "linear_process": ".engine",
    "MockIDM": ".facade",
    "create_app": ".http.app",
    "Identity": ".identity",
    "Profile": ".profile",
    "get_profile": ".profile",
}
__all__ = ["AdminClient", "Engine", "FormProperty", "Identity", "MockIDM", "Profile",
           "UserTask", "create_app", "get_profile", "linear_process"]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        globals()[name] = _version()
        return globals()[name]
    if name not in _WHERE:
        raise AttributeError(f"module 'mockidm' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name], __name__), name)
    globals()[name] = value
    return value


def _version() -> str:
    """The running mockidm's version, from its package metadata: the installed distribution's,
    or in a checkout its pyproject.toml (the source of that metadata, and true even where
    another mockidm is installed). Looked up when asked: it costs tens of milliseconds."""
    from pathlib import Path

    source = Path(__file__).resolve().parent.parent / "pyproject.toml"
    if source.is_file():
        import tomllib

        project = tomllib.loads(source.read_text(encoding="utf-8")).get("project", {})
        if project.get("name") == __name__ and "version" in project:
            return str(project["version"])
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(__name__)
    except PackageNotFoundError:
        return "unknown (neither installed nor in a checkout)"
