"""Cycle jobs run outside the request: one thread per job in this process.

The job's state lives in its ``cycle_jobs`` row (``workflows.cycle_pages``); this module only
knows which jobs have a runner here, so a page asked about a job with none (the server has
restarted since it was queued) starts one — the claim in the database decides whether it may
run (queued, or running with a lapsed lease), so two processes never run it at once.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from workflows.cycle_pages import run_cycle_job

if TYPE_CHECKING:
    from entrypoints.bootstrap import App

log = logging.getLogger("innospace.web.jobs")
_lock = threading.Lock()
_running: set[tuple[int, int]] = set()  # (id of the App, job id)


def running(app: App, job_id: int) -> bool:
    with _lock:
        return (id(app), job_id) in _running


def launch(app: App, job_id: int) -> bool:
    """Start a runner for ``job_id`` unless this process has one; whether one was started."""
    key = (id(app), job_id)
    with _lock:
        if key in _running:
            return False
        _running.add(key)

    def run() -> None:
        try:
            run_cycle_job(app.service, job_id)
        except Exception:  # the job row says what failed; a runner never takes the app down
            log.exception("cycle job %d: runner stopped", job_id)
        finally:
            with _lock:
                _running.discard(key)

    threading.Thread(target=run, name=f"cycle-job-{job_id}", daemon=True).start()
    return True
