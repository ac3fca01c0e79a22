"""Where the spec's files are: `openapi.yaml`, `admin-openapi.yaml` and `contracts/`.

A leaf: it imports nothing of mockidm, so that the contract kit, which must never import the
mock, can find the spec as the mock does.
"""

from __future__ import annotations

import hashlib
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


def parsed_copy(spec_file: Path, content: bytes) -> Path:
    """Where the JSON form of a YAML spec file with this content is kept (`mockidm.spec` reads
    it instead of parsing the YAML): in `__pycache__` beside it, named by the content's hash.
    The wheel carries it (`hatch_build.py`); a checkout's first start writes it."""
    digest = hashlib.blake2b(content, digest_size=12).hexdigest()
    return spec_file.parent / "__pycache__" / f"{spec_file.name}.{digest}.json"
