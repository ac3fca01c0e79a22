"""The pytest plugin: a `mockidm` fixture served by one server per session, and its marker.

    def test_start(mockidm):                          # a sync or an async test alike
        requests.post(f"{mockidm.url}/workflow/processinstance?_action=create",
                      json={"_key": "contractorOnboarding"}, headers=mockidm.admin_headers)

    @pytest.mark.mockidm(definitions="samples", users=[("bob", "secret", ["approvers"])])
    def test_bob(mockidm): ...

Each test gets the session's server reset to a new mock's state, then the `--mockidm-fixtures`
scenario, then what its marker preloads (a marker's folder with a file the mock cannot deploy
fails the test at setup, naming the file). At teardown, a request the mock could not serve, a
scripted failure that never fired or a workflow file a test's own `deploy_folder` skipped fails
the test that caused it, unless its marker allows it.
A failed test's report carries a "mockidm journal" section: the requests of that test.
Files are parsed once per session, so a test pays only the reset and the deployments.
"""

from __future__ import annotations

import difflib
from collections.abc import Generator, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .profile import get_profile

if TYPE_CHECKING:  # the plugin loads in every test run: the mock itself only when used
    from .engine import ProcessModel
    from .facade import MockIDM

_SESSION = pytest.StashKey["_Session"]()
_MOCK = pytest.StashKey["MockIDM"]()
_CALL_PASSED = pytest.StashKey[bool]()
_REPORTED = pytest.StashKey[bool]()

# (models, deployment name, resources): one deployment, as the engine takes it.
Deployment = tuple[tuple["ProcessModel", ...], str | None, dict[str, bytes] | None]


@dataclass(frozen=True)
class Preload:
    """The arguments of `@pytest.mark.mockidm` (the closest marker wins, name by name)."""

    definitions: Any = None  # BPMN file/archive/folder paths or text, ProcessModels, "samples"
    users: Any = None  # dicts {name, password, roles} or (name, password, roles) tuples
    fixtures: Any = None  # scenario file path(s)
    profile: str | None = None  # another IDM release than the session's: another server
    paging: bool | None = None  # queries honour paging parameters (None: as the profile does)
    allow_unserved: bool = False  # requests the mock could not serve do not fail the test
    allow_unused_faults: bool = False  # nor scripted failures that never fired
    allow_skipped_files: bool = False  # nor workflow files a deploy_folder call skipped


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockidm", "mockidm: a mock of the PingIDM workflow REST API")
    group.addoption("--mockidm-profile", default="8.1", metavar="RELEASE",
                    help="the IDM release the `mockidm` fixture behaves as (8.1 or 6.5)")
    group.addoption("--mockidm-fixtures", metavar="FILE", default=None,
                    help="a scenario file applied to every test's mock after its reset")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "mockidm(definitions=None, users=None, fixtures=None, profile=None, "
        "paging=None, allow_unserved=False, allow_unused_faults=False, allow_skipped_files=False): "
        "preload the `mockidm` fixture")
    try:
        get_profile(config.getoption("mockidm_profile"))
    except ValueError as exc:
        raise pytest.UsageError(f"--mockidm-profile: {exc}") from None
    config.stash[_SESSION] = _Session(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(_SESSION, None)
    if session is not None:
        session.close()


@pytest.fixture(scope="session")
def mockidm_server(pytestconfig: pytest.Config) -> MockIDM:
    """The session's mock, serving on a free loopback port (its profile: --mockidm-profile).
    Override this fixture to serve another MockIDM."""
    return pytestconfig.stash[_SESSION].server(pytestconfig.getoption("mockidm_profile"))


@pytest.fixture
def mockidm(request: pytest.FixtureRequest) -> Iterator[MockIDM]:
    """A serving MockIDM in a new mock's state, preloaded by --mockidm-fixtures and the marker."""
    session: _Session = request.config.stash[_SESSION]
    preload = _preload(request.node)
    mock: MockIDM = request.getfixturevalue("mockidm_server")
    if preload.profile is not None and get_profile(preload.profile).name != mock.profile.name:
        mock = session.server(preload.profile)
    from .engine import EngineError

    mock.reset()
    request.node.stash[_MOCK] = mock
    try:
        _apply(mock, session, preload, request.path.parent)
        if preload.paging is not None:  # the marker has the last word over fixture files
            mock.paging = preload.paging
        mistake = None
    except (OSError, TypeError, ValueError, EngineError) as exc:  # a bad file, user, scenario
        mistake = f"mockidm: {exc}"
    if mistake is not None:  # failed outside the except: the report shows no inner exception
        pytest.fail(mistake, pytrace=False)
    yield mock
    if not request.node.stash.get(_CALL_PASSED, False):
        return  # a failed test's report shows the journal, problems included
    problems = (([] if preload.allow_unserved else mock.unserved())
                + ([] if preload.allow_unused_faults else mock.unused_failures())
                + ([] if preload.allow_skipped_files else mock.skipped_files())
                + mock.unrun_listeners()  # acknowledged by declaring their outputs
                + mock.unrunnable_scripts())  # the same
    if problems:
        request.node.stash[_REPORTED] = True
        pytest.fail("mockidm:\n" + "\n".join(f"  {p}" for p in problems)
                    + "\n(allow on purpose: @pytest.mark.mockidm(allow_unserved=True, "
                    "allow_unused_faults=True, allow_skipped_files=True))\n\nmockidm journal:\n"
                    + _journal(mock), pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    if report.when == "call":
        item.stash[_CALL_PASSED] = report.passed
    mock = item.stash.get(_MOCK, None)
    if (report.failed and mock is not None and not item.stash.get(_REPORTED, False)
            and (report.when == "call" or mock.journal.entries())):
        problems = mock.problems()
        report.sections.append(("mockidm journal", _journal(mock) + "".join(
            f"\n{p}" for p in problems)))
    return report


def _apply(mock: MockIDM, session: _Session, preload: Preload, base: Path) -> None:
    """The session's scenario, then the marker's definitions, users and scenarios."""
    if session.scenario is not None:
        session.scenario.apply(mock)
    for source in _listed(preload.definitions):
        for models, name, resources in session.deployments(source, base):
            mock.deploy(*models, name=name, resources=resources)
    for user in _listed(preload.users):
        if isinstance(user, Mapping):
            mock.add_user(**user)
        else:
            mock.add_user(*user)
    for path in _listed(preload.fixtures):
        session.load_scenario(_resolve(path, base)).apply(mock)


def _journal(mock: MockIDM) -> str:
    with mock.lock:  # the server thread may still be answering a request
        requests = mock.journal.render() or "(the mock received no request)"
        calls = mock.idm_call_lines()
    return requests + ("\n\nIDM calls the workflows made:\n" + "\n".join(
        f"  {c}" for c in calls) if calls else "")


def _preload(item: pytest.Item) -> Preload:
    kwargs: dict[str, Any] = {}
    for mark in reversed(list(item.iter_markers("mockidm"))):  # farthest first
        if mark.args:
            pytest.fail("@pytest.mark.mockidm takes keywords only", pytrace=False)
        kwargs.update(mark.kwargs)
    valid = [f.name for f in fields(Preload)]
    for name in kwargs:
        if name not in valid:
            close = difflib.get_close_matches(name, valid, n=1)
            pytest.fail(f"@pytest.mark.mockidm: no argument {name!r}"
                        + (f"; did you mean {close[0]!r}?" if close else "")
                        + f" (its arguments: {', '.join(valid)})", pytrace=False)
    preload = Preload(**kwargs)
    try:
        if preload.profile is not None:
            get_profile(preload.profile)
        mistake = None
    except ValueError as exc:
        mistake = f"@pytest.mark.mockidm: {exc}"
    if mistake is not None:  # failed outside the except: the report shows no inner exception
        pytest.fail(mistake, pytrace=False)
    return preload


def _listed(value: Any) -> list[Any]:
    return [] if value is None else list(value) if isinstance(value, list | tuple) else [value]


def _resolve(path: str | Path, base: Path) -> Path:
    """A relative path names a file next to the test module, else in the working directory."""
    path = Path(path)
    if not path.is_absolute() and (base / path).exists():
        path = base / path
    if not path.exists():
        raise FileNotFoundError(f"no such file or folder: {path}")
    return path.resolve()


class _Session:
    """What a test session shares: a serving mock per profile, and every file parsed once."""

    def __init__(self, config: pytest.Config) -> None:
        self._servers: dict[str, MockIDM] = {}
        self._stack = ExitStack()
        self._parsed: dict[Any, list[Deployment]] = {}
        self._scenarios: dict[Path, Any] = {}
        fixtures = config.getoption("mockidm_fixtures")
        try:
            self.scenario = None if fixtures is None else self.load_scenario(
                _resolve(fixtures, Path.cwd()))
        except Exception as exc:  # a bad file is a usage error, reported once
            raise pytest.UsageError(f"--mockidm-fixtures {fixtures}: {exc}") from None

    def server(self, profile: str) -> MockIDM:
        """The mock serving for `profile`, started on first use and kept for the session."""
        from .facade import MockIDM

        name = get_profile(profile).name
        if name not in self._servers:
            self._servers[name] = self._stack.enter_context(MockIDM(name).serve())
        return self._servers[name]

    def close(self) -> None:
        self._stack.close()

    def load_scenario(self, path: Path) -> Any:
        if path not in self._scenarios:
            from .scenario import parse_scenario  # jsonschema: slow to import, so on demand
            self._scenarios[path] = parse_scenario(path)
        return self._scenarios[path]

    def deployments(self, source: Any, base: Path) -> list[Deployment]:
        from .engine import ProcessModel
        from .samples import SAMPLES_DIR

        if isinstance(source, ProcessModel):
            return [((source,), None, None)]
        if (source, base) not in self._parsed:
            if isinstance(source, bytes) or (isinstance(source, str)
                                             and source.lstrip().startswith("<")):
                parsed = _parse(source)
            else:
                parsed = _parse(SAMPLES_DIR if source == "samples" else _resolve(source, base))
            self._parsed[source, base] = parsed
        return self._parsed[source, base]


def _parse(source: str | bytes | Path) -> list[Deployment]:
    """BPMN text, a BPMN file, a `.bar`/`.zip` archive, or a folder of them (in name order,
    one deployment each, as IDM deploys its workflow directory)."""
    from .engine.deployables import read_data, read_deployables

    if isinstance(source, Path):
        found = read_deployables(source)
    else:
        data = source.encode("utf-8") if isinstance(source, str) else source
        found = [read_data(data, "process.bpmn20.xml")]
    return [(deployable.models, deployable.name, dict(deployable.resources))
            for deployable in found]
