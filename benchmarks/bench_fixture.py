"""What the `mockidm` fixture costs a test.

(a) In process: the per-test reset plus deploying two small definitions, median and p90 over
    many iterations, next to the reset alone and the deployments alone. Deploying goes two ways:
    `MockIDM.deploy_bpmn` (parses the XML every time) and what the plugin does (parses once per
    session, then deploys the parsed models).
(b) End to end: a generated suite of small tests that each use the fixture (two definitions
    through the marker, one process started over HTTP), run by pytest in a subprocess.

    PYTHONPATH=. python benchmarks/bench_fixture.py [--iterations 2000] [--tests 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path

from mockidm.engine.bpmn import load_bpmn
from mockidm.facade import MockIDM

ROOT = Path(__file__).resolve().parents[1]
TARGET_MS = 2.0

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:activiti="http://activiti.org/bpmn" targetNamespace="https://example.com">
  <process id="{key}" name="{key}" isExecutable="true">
    <startEvent id="start">
      <extensionElements>
        <activiti:formProperty id="requester" name="Requester" type="string"/>
      </extensionElements>
    </startEvent>
    <sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <userTask id="review" name="Review" activiti:candidateGroups="internal/role/openidm-admin">
      <extensionElements>
        <activiti:formProperty id="decision" name="Decision" type="enum" required="true">
          <activiti:value id="approve" name="Approve"/>
          <activiti:value id="reject" name="Reject"/>
        </activiti:formProperty>
      </extensionElements>
    </userTask>
    <sequenceFlow id="f2" sourceRef="review" targetRef="decide"/>
    <exclusiveGateway id="decide" default="f4"/>
    <sequenceFlow id="f3" sourceRef="decide" targetRef="end">
      <conditionExpression>${{decision == 'approve'}}</conditionExpression>
    </sequenceFlow>
    <sequenceFlow id="f4" sourceRef="decide" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>
"""
TEXTS = [BPMN.format(key="accessRequest"), BPMN.format(key="roleReview")]


def timed(step: Callable[[], object], iterations: int) -> list[float]:
    """Milliseconds per call of `step`."""
    samples = []
    for _ in range(iterations):
        start = time.perf_counter()
        step()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def summary(name: str, samples: list[float]) -> str:
    p90 = statistics.quantiles(samples, n=10)[-1]
    return f"  {name:<50} median {statistics.median(samples):6.3f} ms   p90 {p90:6.3f} ms"


def bench_server_start() -> None:
    starts = []
    for _ in range(5):
        start = time.perf_counter()
        with MockIDM().serve():
            starts.append((time.perf_counter() - start) * 1000)
    print(f"  server start, once per session: first {starts[0]:.0f} ms (the spec's validators "
          f"compiled), then {statistics.median(starts[1:]):.1f} ms")


def bench_reset(iterations: int) -> float:
    mock = MockIDM()
    parsed = [(load_bpmn(text.encode(), "process.bpmn20.xml"), text.encode()) for text in TEXTS]

    def deploy_bpmn() -> None:
        for text in TEXTS:
            mock.deploy_bpmn(text)

    def deploy_parsed() -> None:  # what the plugin does with a definition parsed once
        for models, data in parsed:
            with mock.state.lock:
                mock.engine.deploy(models, name="process.bpmn20.xml",
                                   resources={"process.bpmn20.xml": data})

    def reset_then(deploy: Callable[[], None]) -> Callable[[], None]:
        def step() -> None:
            mock.reset()
            deploy()
        return step

    def fresh_then(deploy: Callable[[], None]) -> Callable[[], None]:
        def step() -> None:  # deployments alone: the reset happens outside the timing
            mock.reset()
            start = time.perf_counter()
            deploy()
            alone.append((time.perf_counter() - start) * 1000)
        return step

    timed(reset_then(deploy_bpmn), 200)  # warm up
    print(f"(a) per-test reset + two definitions, {iterations} iterations")
    print(summary("reset alone", timed(mock.reset, iterations)))
    results = {}
    for name, deploy in (("deploy_bpmn", deploy_bpmn), ("parsed once (the plugin)", deploy_parsed)):
        alone: list[float] = []
        timed(fresh_then(deploy), iterations)
        print(summary(f"two deployments alone, {name}", alone))
        results[name] = samples = timed(reset_then(deploy), iterations)
        print(summary(f"reset + two deployments, {name}", samples))
    median = statistics.median(results["parsed once (the plugin)"])
    verdict = "met" if median < TARGET_MS else "MISSED"
    print(f"  target: median < {TARGET_MS} ms for the fixture's path: {verdict} ({median:.3f} ms)")
    return median


SUITE_TEST = '''
@pytest.mark.mockidm(definitions=["access.bpmn20.xml", "review.bpmn20.xml"])
def test_{n}(mockidm):
    response = requests.post(f"{{mockidm.url}}/workflow/processinstance?_action=create",
                             json={{"_key": "{key}", "requester": "user{n}"}},
                             headers=mockidm.admin_headers)
    assert response.status_code == 201, response.text
'''


def bench_suite(tests: int) -> None:
    plugin = [] if entry_points(group="pytest11", name="mockidm") else [
        "-p", "mockidm.pytest_plugin"]
    with tempfile.TemporaryDirectory(prefix="mockidm-suite-") as folder:
        suite = Path(folder)
        (suite / "pytest.ini").write_text("[pytest]\nasyncio_default_fixture_loop_scope = "
                                          "function\naddopts = -p no:cacheprovider\n")
        (suite / "access.bpmn20.xml").write_text(TEXTS[0])
        (suite / "review.bpmn20.xml").write_text(TEXTS[1])
        per_file = 20
        for first in range(0, tests, per_file):
            body = "".join(SUITE_TEST.format(n=n, key=("accessRequest", "roleReview")[n % 2])
                           for n in range(first, min(first + per_file, tests)))
            (suite / f"test_suite_{first // per_file:02}.py").write_text(
                "import pytest\nimport requests\n" + body)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}

        def pytest_run(*args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "pytest", "-q", *plugin, *args],
                                  cwd=suite, env=env, capture_output=True, text=True)
            return time.perf_counter() - start, done

        pytest_run("--collect-only")  # warm the file system and bytecode caches
        startup = min(pytest_run("--collect-only")[0] for _ in range(3))
        runs = [pytest_run() for _ in range(3)]
        for _, done in runs:
            if done.returncode != 0:
                sys.exit(f"the generated suite failed:\n{done.stdout[-3000:]}{done.stderr}")
        wall = statistics.median(seconds for seconds, _ in runs)
        last_line = runs[-1][1].stdout.strip().splitlines()[-1]
        print(f"\n(b) a generated suite of {tests} tests using the fixture "
              f"(marker: two definitions; one POST each), `pytest -q` in a subprocess")
        print(f"  wall time {wall:.2f} s (median of 3; pytest says: {last_line})")
        print(f"  pytest start + collection alone {startup:.2f} s; the tests themselves "
              f"{wall - startup:.2f} s = {(wall - startup) / tests * 1000:.2f} ms per test "
              f"({wall / tests * 1000:.2f} ms per test all in)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--tests", type=int, default=200)
    args = parser.parse_args()
    bench_reset(args.iterations)
    bench_server_start()
    bench_suite(args.tests)


if __name__ == "__main__":
    main()
