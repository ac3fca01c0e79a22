"""Engine snapshot speed: `dump_engine` and `load_engine` of a big engine.

    /work/venv/bin/python benchmarks/bench_snapshot.py                 # 10,000 instances
    /work/venv/bin/python benchmarks/bench_snapshot.py --instances 2000 --runs 5

The engine: the sample workflows and 20 more definitions; --instances instances of the role
request (two parallel reviews) with variables of every JSON type, a third of them finished
(tasks claimed and completed), a third half-reviewed, a third untouched. Each figure is the
best of --runs, in CPU time: dump (engine -> JSON data), load into a new engine, load into an
existing one (as the facade's `reset()` does on every test), and the JSON text's size.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import orjson

from mockidm.engine import Engine, UserTask, linear_process
from mockidm.engine.snapshot import dump_engine, load_engine
from mockidm.samples import deploy_samples

VARIABLES = {"role": "auditor", "n": 3, "ratio": 0.25, "ok": True, "none": None,
             "list": [1, "two", 3.5], "nested": {"a": {"b": [True, None]}}}


def big_engine(instances: int) -> Engine:
    engine = Engine()
    deploy_samples(engine)
    for n in range(20):
        engine.deploy(linear_process(f"linear{n}", f"Linear {n}",
                                     [UserTask("a", candidate_groups=["g"]), UserTask("b")]))
    for n in range(instances):
        instance = engine.start(key="roleRequest", business_key=f"role-{n}",
                                variables={**VARIABLES, "n": n}, user="alice")
        if n % 3 == 0:
            continue
        tasks = [t for t in engine.tasks_of(instance.id) if t.active]
        engine.claim(tasks[0].id, "bob")
        engine.complete(tasks[0].id, {"securityDecision": "approve"})
        if n % 3 == 2:
            engine.complete(tasks[1].id, {"managerDecision": "approve"})
    return engine


def best(runs: int, function: Callable[[], Any]) -> float:
    times = []
    for _ in range(runs):
        started = time.process_time()  # CPU time: steadier than the wall clock on a busy box
        function()
        times.append(time.process_time() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    engine = big_engine(args.instances)
    data = dump_engine(engine)
    target = Engine()
    print(f"{len(data['instances'])} instances, {len(data['tasks'])} tasks, "
          f"{len(data['definitions'])} definitions; JSON {len(orjson.dumps(data)) / 1e6:.1f} MB")
    print(f"dump            {best(args.runs, lambda: dump_engine(engine)) * 1000:8.1f} ms")
    print(f"load            {best(args.runs, lambda: load_engine(data)) * 1000:8.1f} ms")
    print(f"load into       {best(args.runs, lambda: load_engine(data, target)) * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
