"""Running the API: the secret key, the app factory uvicorn's workers import, and the
scheduler thread beside it (``innospace serve``)."""

from __future__ import annotations

import logging
import os
import secrets
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from lifecycle.errors import InvalidInput

if TYPE_CHECKING:
    from fastapi import FastAPI

    from entrypoints.bootstrap import App
    from entrypoints.scheduler import SchedulerProcess

log = logging.getLogger("innospace.http")

SECRET_ENV = "INNOSPACE_SECRET_KEY"


def secret_key(app: App) -> str:
    """The key that signs session cookies: ``INNOSPACE_SECRET_KEY``; unset, on SQLite a key
    kept in ``<database>.secret`` (created 0600 on first use, so sessions survive a restart);
    on PostgreSQL it must be set (every worker and every ``serve`` must share it)."""
    if app.settings.secret_key:
        return app.settings.secret_key
    url = app.engine.url  # normalized: a bare path is a SQLite file
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise InvalidInput(
            SECRET_ENV,
            "PostgreSQL 上须设置至少 32 个字符的 INNOSPACE_SECRET_KEY（所有进程共用） / set "
            "INNOSPACE_SECRET_KEY (32+ characters, shared by every process) on PostgreSQL",
        )
    path = Path(f"{url.database}.secret")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        with path.open(encoding="ascii") as stored:
            key = stored.read().strip()
        if len(key) < 32:
            raise InvalidInput(SECRET_ENV, f"{path} 内容无效 / holds no valid key") from None
        return key
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(key + "\n")
    log.warning("generated the session signing key in %s (0600)", path)
    return key


def app_from_env() -> FastAPI:
    """The app factory each uvicorn worker calls (``--workers N``): it bootstraps from the
    environment ``serve`` prepared (database URL and secret key)."""
    from entrypoints.bootstrap import bootstrap
    from entrypoints.http import create_app

    return create_app(bootstrap(create=False))


class SchedulerThread:
    """The scheduler in the serving process (``serve`` without ``--no-scheduler``). Several
    processes may each run one: the lease (``workflows.leadership``) keeps one active."""

    def __init__(self, app: App) -> None:
        from entrypoints.scheduler import SchedulerProcess
        from entrypoints.ticks import load_settings

        self.process: SchedulerProcess = SchedulerProcess(app, load_settings())
        self.thread = threading.Thread(target=self.process.run, name="scheduler", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.process.request_stop("server stopping")
        self.thread.join(timeout=30)
