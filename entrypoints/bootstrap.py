"""The composition root: builds the engine, clock, service, renderer and relay.

Nothing runs at import time; every entry point (CLI, scheduler, tests) calls :func:`bootstrap`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine

from db.engine import make_engine
from entrypoints.settings import Settings
from lifecycle.clock import Clock
from notifications.channels import SmtpSettings
from notifications.relay import Relay
from notifications.render import Renderer
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
    renderer: Renderer = field(default_factory=Renderer)

    def smtp(self) -> SmtpSettings | None:
        s = self.settings
        if not s.smtp_host:
            return None
        return SmtpSettings(host=s.smtp_host, port=s.smtp_port, mode=s.smtp_mode,
                            username=s.smtp_username, password=s.smtp_password,
                            sender=s.smtp_sender, operators_address=s.smtp_operators_address)

    def relay(self, clock: Clock | None = None) -> Relay:
        return Relay(self.engine, self.renderer, self.smtp(), clock or self.clock)


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
