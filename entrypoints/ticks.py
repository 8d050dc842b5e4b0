"""One pass of every sweep: what `innospace tick` runs and the scheduler's jobs call.

Each tick is idempotent and finds its work in the data (DESIGN decision 4), so running one
twice, late, or from two places changes nothing more than running it once on time:

* review cycles — per space, open last year's review once this year's opening day has passed;
* deadlines — every pending deadline due by now, oldest first, each exactly once;
* digest — the operators' digest of the day, once the digest cron has fired today;
* relay — deliver the outbox.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date, datetime
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from entrypoints.bootstrap import App
from lifecycle.clock import Clock, FixedClock
from lifecycle.errors import SchedulerError
from lifecycle.validation_words import said
from workflows.cycles import open_due_cycles, send_digest
from workflows.service import Service
from workflows.sweeps import sweep_deadlines

log = logging.getLogger("innospace.ticks")
SHANGHAI = ZoneInfo("Asia/Shanghai")  # review calendars and the digest run on space time
Stop = Callable[[], bool]


class TickSettings(BaseSettings):
    """The scheduler's own knobs (``INNOSPACE_*``); intervals of the sweep and the relay are in
    :class:`entrypoints.settings.Settings`."""

    model_config = SettingsConfigDict(env_prefix="INNOSPACE_", env_file=None, extra="ignore")

    cycle_interval_seconds: int = Field(default=3600, ge=1)
    digest_cron: str = "30 8 * * *"  # Asia/Shanghai: minute hour day month weekday
    standby_poll_seconds: float = Field(default=5.0, gt=0)
    # The leader's lease (workflows.leadership): it renews every third of it; a standby takes
    # over a leader that stopped renewing within the lease and one poll.
    lease_seconds: float = Field(default=30.0, ge=1)
    retry_max_seconds: float = Field(default=60.0, gt=0)
    batch_size: int = Field(default=500, ge=1)


def load_settings() -> TickSettings:
    """Read the knobs, turning a bad value into a message naming the variable."""
    try:
        return TickSettings()
    except ValidationError as err:
        first = err.errors()[0]
        name = "INNOSPACE_" + "_".join(str(p) for p in first["loc"]).upper()
        raise SchedulerError(
            f"{name} 取值无效 / invalid value: {said(first)} (got {first.get('input')!r})",
            field=name,
        ) from None


def digest_trigger(expr: str) -> CronTrigger:
    try:
        return CronTrigger.from_crontab(expr, timezone=SHANGHAI)
    except ValueError as err:
        raise SchedulerError(
            f"INNOSPACE_DIGEST_CRON {expr!r} 不是有效的 crontab 表达式，须写五个字段"
            "“分 时 日 月 星期”（北京时间），如 '30 8 * * *' / "
            f"INNOSPACE_DIGEST_CRON {expr!r} is not a valid crontab expression: {err}; write "
            "five fields 'minute hour day month weekday' (Asia/Shanghai), e.g. '30 8 * * *'",
            field="digest_cron",
        ) from None


def digest_due_day(trigger: CronTrigger, now: datetime) -> date | None:
    """Today (space time) if the digest cron has fired today by ``now``, else None.

    Only today's digest is ever sent late: after a downtime, yesterday's news is stale.
    """
    local = now.astimezone(SHANGHAI)
    midnight = datetime.combine(local.date(), clock_time(), tzinfo=SHANGHAI)
    fire = trigger.get_next_fire_time(None, midnight)
    return local.date() if fire is not None and fire <= local else None


def _timed(fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    started = time.perf_counter()
    result = fn()
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result


def tick_cycles(service: Service, *, chunk: int = 500, stop: Stop | None = None) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        reports = open_due_cycles(service, chunk=chunk, stop=stop)
        return {"opened": sum(r.opened for r in reports), "cycles": [r.to_dict() for r in reports]}

    result = _timed(run)
    log.info("review cycles: opened=%d in %.3fs", result["opened"], result["seconds"])
    return result


def tick_deadlines(
    service: Service, *, batch: int = 500, stop: Stop | None = None
) -> dict[str, Any]:
    return sweep_deadlines(service, batch=batch, stop=stop).to_dict()  # logs itself


def tick_digest(service: Service, trigger: CronTrigger, *, locale: str = "zh-CN") -> dict[str, Any]:
    def run() -> dict[str, Any]:
        day = digest_due_day(trigger, service.clock.now())
        sent = send_digest(service, day, locale=locale) if day is not None else None
        return {"sent": sent is not None, **(sent or {})}

    result = _timed(run)
    log.info(
        "operator digest: sent=%d items=%d in %.3fs",
        result["sent"],
        result.get("items", 0),
        result["seconds"],
    )
    return result


def tick_relay(app: App, clock: Clock | None = None) -> dict[str, Any]:
    report = app.relay(clock).run_once()
    log.info(
        "outbox relay: claimed=%d delivered=%d retried=%d dead=%d in %.3fs",
        report.claimed,
        report.delivered,
        report.retried,
        report.dead,
        report.seconds,
    )
    return report.to_dict()


def run_ticks(
    app: App,
    *,
    until: datetime | None = None,
    settings: TickSettings | None = None,
    stop: Stop | None = None,
) -> dict[str, Any]:
    """Run every sweep once, as of ``until`` (a simulated instant) or now.

    Cycles first (they write reminders and deadlines), then deadlines (they queue notices),
    then the digest (it summarises what is left), then the relay delivers it all.
    """
    settings = settings or load_settings()
    trigger = digest_trigger(settings.digest_cron)
    clock = app.clock if until is None else FixedClock(until)
    service = app.service if until is None else app.service.with_clock(clock)
    return {
        "cycles": tick_cycles(service, chunk=settings.batch_size, stop=stop),
        "deadlines": tick_deadlines(service, batch=settings.batch_size, stop=stop),
        "digest": tick_digest(service, trigger, locale=app.settings.locale),
        "relay": tick_relay(app, clock),
    }
