"""How a worker process behaves; built from the application's settings at start-up."""

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class WorkerConfig:
    #: Jobs in flight per consumer.
    concurrency: int = 64
    #: Failure-detection window of a claim; renewed every third of it while the job runs.
    lease: timedelta = timedelta(seconds=90)
    #: Fallback poll when no NOTIFY arrives; each wait is jittered by up to a quarter of it.
    poll_interval: timedelta = timedelta(seconds=2)
    heartbeat_interval: timedelta = timedelta(seconds=5)
    #: A worker silent this long is dead: its rows are recovered, it leaves the ring.
    worker_timeout: timedelta = timedelta(seconds=30)
    #: On stop, how long in-flight jobs may finish before they are released untried.
    drain_timeout: timedelta = timedelta(seconds=30)
    housekeeping_interval: timedelta = timedelta(seconds=5)
    #: A loop stuck in one step, or failing without a success, this long makes the process
    #: unready (an orchestrator then restarts it).
    stuck_after: timedelta = timedelta(seconds=60)
