"""What a file, an archive or a folder deploys: the one reader every host uses.

IDM deploys each BPMN file and archive of its workflow directory as one deployment, in
file-name order, each on its own: a file that fails to deploy is logged and the others deploy
all the same (docs/fidelity.md, "workflow folder"). `read_deployables` reads a path (a file,
an archive or a folder) that way, `read_data` the bytes of one file; each `Deployable` is
checked as deploying checks it, so a host learns of a bad file when it reads it. Reading
raises OSError for a file that cannot be read and DefinitionError (BpmnError, with the file
and line) for one that cannot be deployed; each host words these its own way. `Skipped` says
in one line why one file of a folder was left out, `FolderRefused` refuses a whole folder for
the hosts that want every file or none.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from . import bpmn
from .bpmn import BpmnError
from .errors import DefinitionError
from .model import ProcessDefinition, ProcessModel
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


@dataclass(frozen=True)
class Skipped:
    """A file of a folder that was not deployed. `reason` is one line that starts with the
    file's name and says where (the line, and the entry of an archive) and what is wrong."""

    path: Path
    reason: str

    @classmethod
    def of(cls, path: Path, error: OSError | DefinitionError) -> Skipped:
        if isinstance(error, OSError):
            text = f"{path.name}: cannot be read: {error.strerror or error}"
        elif isinstance(error, BpmnError):
            text = str(error)  # already `file, line N: ...` (`archive: entry, line N: ...`)
        else:
            text = f"{path.name}: {error}"
        return cls(path, " ".join(text.split()))  # one line, whatever the message held


@dataclass(frozen=True)
class FolderDeployment:
    """What deploying a folder did: the definitions deployed, in file-name order, and the
    files left out."""

    definitions: list[ProcessDefinition]
    skipped: list[Skipped]


class FolderRefused(DefinitionError):
    """A folder deployed strictly had files that cannot be deployed: nothing was deployed.
    The message is one line per file (each `Skipped.reason`)."""

    def __init__(self, skipped: list[Skipped]) -> None:
        super().__init__("\n".join(s.reason for s in skipped))
        self.skipped = skipped
