"""The composition root: the table of command handlers; builds the engine, clock, service,
renderer and relay.

Nothing runs at import time; every entry point (CLI, scheduler, tests) calls :func:`bootstrap`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import ValidationError
from sqlalchemy import Engine

from db.engine import make_engine
from entrypoints.settings import EARLIEST_DATE, LATEST_DATE, Settings
from lifecycle.clock import Clock, FixedClock
from lifecycle.errors import InvalidInput
from notifications.channels import SmtpSettings, plaintext_auth_problem
from notifications.relay import Relay
from notifications.render import Renderer
from workflows import (
    accounts,
    admission,
    agreement,
    benefits,
    calendar_years,
    corrections,
    exits,
    forms,
    idempotency,
    integrations,
    logins,
    operations,
    publicity,
    registry,
    residency,
    windows,
)
from workflows import commands as c
from workflows import identity as i
from workflows.core import Work
from workflows.service import Handlers, Service


def _idempotent(w: Work, cmd: idempotency.Idempotent) -> idempotency.Stored:
    """Run the wrapped command once per Idempotency-Key, through this same table."""
    return idempotency.run(w, cmd, HANDLERS)


# Every command and the function that handles it: the one place handlers are registered.
HANDLERS: Handlers = {
    # registry
    c.CreateSpace: registry.create_space,
    c.AddUnit: registry.add_unit,
    c.RegisterFirm: registry.register_firm,
    c.LoadRulebook: registry.load_rulebook,
    c.SetCalendarDay: registry.set_calendar_day,
    c.ImportCalendar: registry.import_calendar,
    c.PublishCalendarYear: calendar_years.publish_year,
    # admission
    c.Apply: admission.apply,
    c.Screen: admission.screen,
    c.RequestInfo: admission.request_info,
    c.Resubmit: admission.resubmit,
    c.ScoreApplication: admission.score_application,
    c.Approve: admission.approve,
    c.Reject: admission.reject,
    c.RejectWithoutPanel: admission.reject_without_panel,
    c.Withdraw: admission.withdraw,
    c.Lapse: admission.lapse,
    c.LodgeObjection: publicity.lodge_objection,
    c.RuleOnObjection: publicity.rule_on_objection,
    c.EndPublicity: publicity.end_publicity,
    c.Sign: agreement.sign,
    # residency
    c.OpenReview: residency.open_review,
    c.SubmitReview: residency.submit_review,
    c.DecideReview: residency.decide_review,
    c.FileRectificationPlan: residency.file_plan,
    c.ExtendRectification: residency.extend_rectification,
    c.Reinspect: residency.reinspect,
    c.ReportViolation: residency.report_violation,
    c.RecordBenefit: benefits.record_benefit_cmd,
    c.DecideCycle: operations.decide_cycle,
    forms.ImportFigures: forms.import_figures,
    # exit
    c.ServeExitNotice: exits.serve_exit_notice,
    c.ConfirmExit: exits.confirm_exit_cmd,
    c.BeginExit: exits.begin_exit,
    c.EndGraduationPublicity: exits.end_graduation_publicity,
    c.HandOver: exits.hand_over,
    c.EscalateVacating: exits.escalate_vacating,
    c.WaiveWindow: windows.waive_window,
    # operations
    c.RetryDeadlines: operations.retry_deadlines,
    c.RetryNotices: operations.retry_notices,
    c.MarkInboxRead: operations.mark_inbox_read,
    c.SaveTemplate: operations.save_template,
    # outbound integrations (webhooks, WeCom / DingTalk robots)
    integrations.AddEndpoint: integrations.add_endpoint,
    integrations.DisableEndpoint: integrations.disable_endpoint,
    integrations.RotateSecret: integrations.rotate_secret,
    # corrections
    corrections.EditFirm: corrections.edit_firm,
    corrections.EditUnit: corrections.edit_unit,
    corrections.RetireUnit: corrections.retire_unit,
    corrections.AmendAgreement: corrections.amend_agreement,
    # identity
    i.AddUser: accounts.add_user,
    i.SetPassword: accounts.set_password,
    i.DisableUser: accounts.disable_user,
    i.EnableUser: accounts.enable_user,
    i.GrantSpace: accounts.grant_space,
    i.CreateToken: accounts.create_token,
    i.RevokeToken: accounts.revoke_token,
    i.TouchToken: accounts.touch_token,
    i.Login: logins.login,
    i.Logout: logins.logout,
    i.TouchSession: logins.touch_session,
    i.AssignReviewer: accounts.assign_reviewer,
    i.UnassignReviewer: accounts.unassign_reviewer,
    # the HTTP API: a POST with an Idempotency-Key runs its command through this
    idempotency.Idempotent: _idempotent,
}


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
        return SmtpSettings(
            host=s.smtp_host,
            port=s.smtp_port,
            mode=s.smtp_mode,
            username=s.smtp_username,
            password=s.smtp_password,
            sender=s.smtp_sender,
            operators_address=s.smtp_operators_address,
            allow_plaintext_auth=s.smtp_allow_plaintext_auth,
        )

    def relay(self, clock: Clock | None = None) -> Relay:
        return Relay(self.engine, self.renderer, self.smtp(), clock or self.clock)


def load_settings() -> Settings:
    """Read the environment; a bad value is an InvalidInput naming the variable."""
    try:
        settings = Settings()
    except ValidationError as err:
        first = err.errors()[0]
        name = "INNOSPACE_" + "_".join(str(p) for p in first["loc"]).upper()
        raise InvalidInput(name, first["msg"]) from None
    check_settings(settings)
    return settings


def check_settings(settings: Settings) -> None:
    """Refuse a configuration that would leak a secret: an SMTP login in clear text."""
    if settings.smtp_host:
        problem = plaintext_auth_problem(
            settings.smtp_mode, settings.smtp_username, settings.smtp_allow_plaintext_auth
        )
        if problem is not None:
            raise InvalidInput(*problem)


def bootstrap(
    *,
    database_url: str | None = None,
    clock: Clock | None = None,
    settings: Settings | None = None,
    create: bool = True,
) -> App:
    """The application; ``create=False``: a SQLite file that does not exist is refused
    (exit 3) instead of created."""
    settings = settings or load_settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    engine = make_engine(settings.database_url, create=create)
    if clock is None and settings.now is not None:
        if settings.now.tzinfo is None:
            raise InvalidInput(
                "INNOSPACE_NOW",
                "must carry a UTC offset, e.g. 2024-03-04T09:00+08:00",
                settings.now.isoformat(),
            )
        if not EARLIEST_DATE <= settings.now.date() <= LATEST_DATE:
            raise InvalidInput(
                "INNOSPACE_NOW",
                f"must lie between {EARLIEST_DATE} and {LATEST_DATE}",
                settings.now.isoformat(),
            )
        logging.getLogger("innospace").warning(
            "clock frozen at %s (INNOSPACE_NOW)", settings.now.isoformat()
        )
        clock = FixedClock(settings.now)
    clock = clock or SystemClock()
    return App(
        settings=settings, engine=engine, clock=clock, service=Service(engine, clock, HANDLERS)
    )
