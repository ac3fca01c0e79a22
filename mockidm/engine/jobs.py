"""Jobs: timers waiting to fire, as the engine's job tables hold them.

A timer job belongs to a timer event: an intermediate catch event or a boundary event (of an
instance's execution), or a timer start event (of a definition, with no instance). A job whose
firing fails is retried as Flowable retries it (`DEFAULT_RETRIES` attempts in all, each
`RETRY_WAIT` after the last failure), then becomes a dead-letter job, which only an explicit
execute brings back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# Flowable: a job's retries (JobEntity's default, asyncExecutorNumberOfRetries) and the wait
# before a failed timer runs again (ProcessEngineConfiguration.defaultFailedJobWaitTime).
DEFAULT_RETRIES = 3
RETRY_WAIT = timedelta(seconds=10)


@dataclass(slots=True)
class Job:
    """A timer job (a dead-letter job when `dead_letter`)."""

    id: str
    definition_id: str
    activity: str  # the timer event's node
    due_date: datetime
    create_time: datetime
    instance_id: str | None = None  # None: a timer start event's job
    execution_id: str | None = None  # the token whose activity the timer belongs to
    retries: int = DEFAULT_RETRIES
    exception_message: str | None = None
    exception_stacktrace: str | None = None
    dead_letter: bool = False
    # A cycle's later firings (`R2/PT10M`: two more after this one; `R/PT1H`: no end).
    repeat: str | None = None


@dataclass(frozen=True)
class JobRun:
    """One job that fired: the job as it was, and the error that failed it (None: it ran)."""

    job: Job
    error: str | None = None
