"""Build hook: the wheel carries the JSON form of the YAML spec files where `mockidm.spec`
looks for it first (`spec_files.parsed_copy`), so that an installed mockidm neither parses
YAML when it starts nor writes beside its own files."""

from __future__ import annotations

import importlib.util
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SPEC_FILES = ("openapi.yaml", "admin-openapi.yaml")  # as force-included in pyproject.toml
PACKAGED = Path("mockidm/_spec")


class ParsedSpecHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        root = Path(self.root)
        # The leaf module that names the copy, loaded by path: the build has none of
        # mockidm's dependencies.
        found = importlib.util.spec_from_file_location("spec_files",
                                                       root / "mockidm" / "spec_files.py")
        assert found is not None and found.loader is not None
        spec_files = importlib.util.module_from_spec(found)
        found.loader.exec_module(spec_files)
        self._folder = Path(tempfile.mkdtemp(prefix="mockidm-parsed-spec-"))
        for name in SPEC_FILES:
            content = (root / name).read_bytes()
            parsed = self._folder / name
            parsed.write_text(json.dumps(yaml.safe_load(content)), encoding="utf-8")
            build_data["force_include"][str(parsed)] = spec_files.parsed_copy(
                PACKAGED / name, content).as_posix()

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        if self.target_name == "wheel":
            shutil.rmtree(self._folder, ignore_errors=True)
