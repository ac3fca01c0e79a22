"""The package as a user gets it: the wheel carries the spec and the contracts (a plain
`pip install .` finds them), its parse, py.typed and the license."""

import json
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

import mockidm
from mockidm.spec import load_spec
from mockidm.spec_files import contracts_dir, parsed_copy, spec_path

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


def test_the_license_is_the_apache_2_text_the_metadata_names() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0" and project["license-files"] == ["LICENSE"]
    text = (REPO / "LICENSE").read_text()
    assert text.split()[:4] == ["Apache", "License", "Version", "2.0,"]
    assert "END OF TERMS AND CONDITIONS" in text and "APPENDIX: How to apply" in text


@pytest.mark.slow  # builds the wheel as a user does (pip fetches the build backend)
def test_the_wheel_is_typed_licensed_and_starts_without_parsing_yaml(tmp_path: Path) -> None:
    """`pip wheel .`: the wheel carries py.typed (so `mypy --strict` checks code that uses
    mockidm), the license, the spec with the contracts, and the spec's parse where
    `mockidm.spec` looks for it first, equal to the YAML's."""
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                           str(tmp_path), str(REPO)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = tmp_path.glob("mockidm-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
        info = f"mockidm-{version}.dist-info"
        assert {"mockidm/py.typed", f"{info}/licenses/LICENSE", "mockidm/_spec/openapi.yaml",
                "mockidm/_spec/admin-openapi.yaml", "mockidm/_spec/contracts/error.json",
                "mockidm/samples/01-contractor-onboarding.bpmn20.xml"} <= names
        assert archive.read(f"{info}/licenses/LICENSE") == (REPO / "LICENSE").read_bytes()
        assert "License-Expression: Apache-2.0" in archive.read(f"{info}/METADATA").decode()
        for name in ("openapi.yaml", "admin-openapi.yaml"):
            content = (REPO / name).read_bytes()
            parsed = parsed_copy(Path("mockidm/_spec") / name, content).as_posix()
            assert json.loads(archive.read(parsed)) == yaml.safe_load(content), name
        assert not [n for n in names if n.endswith(".pyc")]
        # the inspector's templates and static files: served from the wheel, no build step
        inspector = {p.relative_to(REPO).as_posix()
                     for folder in ("templates", "static")
                     for p in (REPO / "mockidm" / "ui" / folder).iterdir()}
        assert inspector and inspector <= names
