"""The composition root: builds the engine, clock and service. Nothing runs at import time."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine

from db.engine import make_engine
from entrypoints.settings import Settings
from lifecycle.clock import Clock
from workflows.service import Service


class SystemClock:
    """The wall clock, in UTC. Only the composition root creates one."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class App:
    settings: Settings
    engine: Engine
    clock: Clock
    service: Service


def bootstrap(*, database_url: str | None = None, clock: Clock | None = None,
              settings: Settings | None = None) -> App:
    settings = settings or Settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine = make_engine(settings.database_url)
    clock = clock or SystemClock()
    return App(settings=settings, engine=engine, clock=clock, service=Service(engine, clock))
