"""What a file, an archive or a folder deploys: the one reader every host uses.

IDM deploys each BPMN file and archive of its workflow directory as one deployment, in
file-name order. `read_deployables` reads a path (a file, an archive or a folder) that way,
`read_data` the bytes of one file; each `Deployable` is checked as deploying checks it, so a
host learns of a bad file when it reads it. Reading raises OSError for a file that cannot be
read and DefinitionError (BpmnError, with the file and line) for one that cannot be deployed;
each host words these its own way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from . import bpmn
from .model import ProcessModel
from .validation import check_deployment


@dataclass(frozen=True)
class Deployable:
    """One deployment: the file's name (the deployment's name), its executable processes, the
    resources it brings (the BPMN file itself, or every entry of an archive) and the file's
    SHA-256, by which an unchanged file is known again."""

    name: str
    models: tuple[ProcessModel, ...]
    resources: Mapping[str, bytes]
    digest: str


def read_deployables(path: Path) -> list[Deployable]:
    """A file: its deployable (read by its name, whatever the name); a folder: one deployable
    per BPMN file and archive in it, in file-name order."""
    if path.is_dir():
        return [read_file(file) for file in deployable_paths(path)]
    return [read_file(path)]


def deployable_paths(folder: Path) -> list[Path]:
    """The BPMN files and archives of a folder, in file-name order (sub-folders are not read)."""
    return [path for path in sorted(folder.iterdir(), key=lambda path: path.name)
            if path.is_file() and bpmn.is_deployable(path.name)]


def read_file(path: Path) -> Deployable:
    return read_data(path.read_bytes(), path.name)


def read_data(data: bytes, name: str) -> Deployable:
    """The deployable in the bytes of the file `name`: an archive if the name says so
    (`bpmn.is_archive`), else a BPMN document."""
    if bpmn.is_archive(name):
        archive = bpmn.load_archive(data, name)
        models, resources = archive.models, archive.resources
    else:
        models, resources = bpmn.load_bpmn(data, name), {name: data}
    check_deployment(models)
    # Read-only: a parse cache hands the same deployable to every caller.
    return Deployable(name, tuple(models), MappingProxyType(resources),
                      hashlib.sha256(data).hexdigest())
