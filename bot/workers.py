"""Several service processes on one port: ``skm-bot run --workers N``.

One Python process uses one core. In webhook mode the service keeps no state in memory that
another process needs (each update is one database transaction; the outbox is shared with
leases), so N processes can serve one port: each opens it with ``SO_REUSEPORT`` and the kernel
spreads connections over them (Linux). The supervisor (this module) migrates the database once,
starts the workers, forwards SIGTERM/SIGINT to them and, when one dies, stops the rest and exits
with its code, so the service manager (systemd, Docker) restarts the whole set.

Only worker 0 runs the scheduler (weekly digests, complaint deadlines) and registers the bot's
commands; every worker runs the outbox sweeper (claims are row-locked, so they never overlap).
Metrics are summed over the workers with prometheus-client's multiprocess mode.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from types import FrameType

WORKER_ENV = "SKM_WORKER"  # "index/count", set by the supervisor for each worker it starts


@dataclass(frozen=True, slots=True)
class WorkerRole:
    """Which of the service's processes this is."""

    index: int = 0
    count: int = 1

    @property
    def shares_port(self) -> bool:
        return self.count > 1

    def share(self, rate: float) -> float:
        """This worker's part of a rate the whole service must keep to (a platform's send
        limit): the workers of one supervisor split it evenly."""
        return rate / self.count

    @property
    def primary(self) -> bool:
        """Runs the once-per-service duties: the scheduler, registering commands."""
        return self.index == 0

    @classmethod
    def from_environment(cls) -> WorkerRole:
        value = os.environ.get(WORKER_ENV)
        if not value:
            return cls()
        index, _, count = value.partition("/")
        return cls(int(index), int(count))


def supervise(count: int, argv: list[str] | None = None, poll_s: float = 0.2) -> int:
    """Start ``count`` workers (``python -m bot run``) and wait; returns the exit code."""
    argv = argv if argv is not None else [sys.executable, "-m", "bot", "run"]
    with tempfile.TemporaryDirectory(prefix="skm-metrics-") as metrics_dir:
        workers: list[subprocess.Popen[bytes]] = []
        stopping = False
        asked_to_stop_by: int | None = None  # the signal the service manager sent, if any
        first_failure: int | None = None  # the exit code of the first worker that failed

        def stop(signum: int) -> None:
            nonlocal stopping
            stopping = True
            for worker in workers:
                if worker.poll() is None:
                    worker.send_signal(signum)

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            nonlocal asked_to_stop_by
            asked_to_stop_by = signum
            stop(signum)

        # Handlers first: a stop that comes while the workers start must reach them too.
        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            for index in range(count):
                if stopping:
                    break
                environment = {
                    **os.environ,
                    WORKER_ENV: f"{index}/{count}",
                    "PROMETHEUS_MULTIPROC_DIR": metrics_dir,
                }
                workers.append(subprocess.Popen(argv, env=environment))
            while True:
                codes = [worker.poll() for worker in workers]
                finished = [code for code in codes if code is not None]
                died = [code for code in finished if code != 0]
                if died and first_failure is None and not stopping:
                    # The cause: report its code, not that of the workers stopped because of it.
                    first_failure = died[0]
                    stop(signal.SIGTERM)
                if len(finished) == len(workers):
                    # A worker still starting when the stop came dies of the forwarded signal
                    # itself, before its handler is installed: that is a clean stop too.
                    clean = {0} if asked_to_stop_by is None else {0, -asked_to_stop_by}
                    failed = [code for code in finished if code not in clean]
                    outcome: int = failed[0] if failed else 0
                    if first_failure is not None:
                        outcome = first_failure
                    # A worker killed by a signal: the shell's convention, 128 + its number.
                    return outcome if outcome >= 0 else 128 - outcome
                time.sleep(poll_s)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            for worker in workers:
                if worker.poll() is None:
                    worker.kill()
                    worker.wait()
