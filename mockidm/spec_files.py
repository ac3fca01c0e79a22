"""Where the spec's files are: `openapi.yaml`, `admin-openapi.yaml` and `contracts/`.

A leaf: it imports nothing of mockidm, so that the contract kit, which must never import the
mock, can find the spec as the mock does.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGED = Path(__file__).parent / "_spec"  # where the wheel puts them
_SOURCE = Path(__file__).parent.parent  # the repository, for editable installs and tests


def spec_dir() -> Path:
    return _PACKAGED if (_PACKAGED / "openapi.yaml").is_file() else _SOURCE


def spec_path() -> Path:
    return spec_dir() / "openapi.yaml"


def admin_spec_path() -> Path:
    return spec_dir() / "admin-openapi.yaml"


def contracts_dir() -> Path:
    return spec_dir() / "contracts"
