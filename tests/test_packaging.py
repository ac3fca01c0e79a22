"""The wheel carries the spec and the contracts: a plain `pip install .` finds them."""

from pathlib import Path

import pytest

import mockidm
from mockidm.spec import load_spec
from mockidm.spec_files import contracts_dir, spec_path

PACKAGE = Path(mockidm.__file__).parent
REPO = Path(__file__).parents[1]


def test_spec_and_contracts_are_found() -> None:
    assert spec_path().is_file()
    assert {p.name for p in contracts_dir().glob("*.json")} >= {"error.json", "common.json"}
    assert len(load_spec().operations) > 20


def test_an_installed_wheel_uses_its_own_copy() -> None:
    if PACKAGE.parent == REPO:
        pytest.skip("running from the source tree (editable install)")
    assert spec_path() == PACKAGE / "_spec" / "openapi.yaml"
    # The copy is the repository's spec, not a stale one.
    assert spec_path().read_bytes() == (REPO / "openapi.yaml").read_bytes()
    for contract in (REPO / "contracts").glob("*.json"):
        assert (contracts_dir() / contract.name).read_bytes() == contract.read_bytes()
