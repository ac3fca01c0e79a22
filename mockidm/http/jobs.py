"""`workflow/job` and `workflow/job/deadletter` (IDM 7+; dead letters 7.3+).

The jobs are the engine's timers: those waiting to fire, and those whose firing failed on
every retry (dead letters). IDM documents the resources in outline only: the item shape and
the action answers are the mock's own, listed in docs/fidelity.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..engine import EngineError, ObjectNotFound
from ..engine.jobs import Job
from . import shapes
from .call import Call, Reply
from .errors import IdmError
from .executions import only_true_filter
from .operations import FILTERED_QUERY, QUERY_ALL_IDS, is_true, operation, unknown_query_id

Check = Callable[[Job], bool]

# filtered-query: the parameters IDM documents for jobs, as Flowable's job queries read them.
_FILTERS: dict[str, Callable[[str], Check]] = {
    "jobId": lambda v: lambda j: j.id == v,
    "processDefinitionId": lambda v: lambda j: j.definition_id == v,
    "processInstanceId": lambda v: lambda j: j.instance_id == v,
    "executionId": lambda v: lambda j: j.execution_id == v,
}


def _filtered(jobs: list[Job], params: Mapping[str, str]) -> list[Job]:
    checks = [make(params[name]) for name, make in _FILTERS.items() if name in params]
    return [j for j in jobs if all(check(j) for check in checks)]


@operation("queryJobs")
def query_jobs(call: Call) -> Reply:
    only_true_filter(call)
    request = call.request
    jobs = call.engine.jobs()
    if request.query_filter is None:
        if request.query_id != FILTERED_QUERY:
            raise unknown_query_id()
        params = request.params
        if is_true(params.get("timersOnly")) and is_true(params.get("messagesOnly")):
            raise IdmError(500, "Cannot combine onlyTimers() with onlyMessages() in the same "
                                "query")
        jobs = _filtered(jobs, params)
        if is_true(params.get("messagesOnly")):
            jobs = []  # every job of the mock is a timer: it runs no async continuations
    return Reply(items=[shapes.job(j) for j in jobs])


@operation("readJob")
def read_job(call: Call) -> Reply:
    return Reply(shapes.job(_job(call, dead_letter=False)))


@operation("actOnJob")
def act_on_job(call: Call) -> Reply:
    job = _job(call, dead_letter=False)
    if call.request.action != "execute":
        raise IdmError(400, f"Unknown action '{call.request.action}'")
    return Reply(_execute(call, job, dead_letter=False))


@operation("queryDeadLetterJobs")
def query_dead_letter_jobs(call: Call) -> Reply:
    only_true_filter(call)
    request = call.request
    jobs = call.engine.jobs(dead_letter=True)
    if request.query_filter is None:
        if request.query_id == FILTERED_QUERY:
            jobs = _filtered(jobs, request.params)
        elif request.query_id != QUERY_ALL_IDS:
            raise unknown_query_id()
    return Reply(items=[shapes.job(j) for j in jobs])


@operation("readDeadLetterJob")
def read_dead_letter_job(call: Call) -> Reply:
    return Reply(shapes.job(_job(call, dead_letter=True)))


@operation("actOnDeadLetterJob")
def act_on_dead_letter_job(call: Call) -> Reply:
    job = _job(call, dead_letter=True)
    action = call.request.action
    if action == "stacktrace":
        return Reply({"_id": job.id, "stacktrace": job.exception_stacktrace})
    if action != "execute":
        raise IdmError(400, f"Unknown action '{action}'")
    return Reply(_execute(call, job, dead_letter=True))


@operation("deleteDeadLetterJob")
def delete_dead_letter_job(call: Call) -> Reply:
    job = _job(call, dead_letter=True)
    return Reply(shapes.job(call.engine.delete_dead_letter_job(job.id)))


def _job(call: Call, *, dead_letter: bool) -> Job:
    try:
        return call.engine.job(call.path_params["jobId"], dead_letter=dead_letter)
    except ObjectNotFound as exc:
        raise IdmError(404, exc.message) from None


def _execute(call: Call, job: Job, *, dead_letter: bool) -> dict[str, str]:
    """Fire the job now; a failure (recorded on the job as the engine records it) is the
    command's failure: 500 with the engine's message."""
    run = call.engine.execute_job(job.id, dead_letter=dead_letter)
    if run.error is not None:
        raise EngineError(run.error)
    return {"_id": job.id}
