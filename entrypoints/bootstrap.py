"""The composition root: the table of command handlers; builds the engine, clock, service,
renderer and relay.

Nothing runs at import time; every entry point (CLI, scheduler, tests) calls :func:`bootstrap`.
Importing this module loads no workflow, no notification and no table model: the CLI imports
it for every command that touches the database, ``innospace list`` among them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING

from pydantic import ValidationError
from sqlalchemy import Engine

from db.engine import make_engine
from entrypoints.lazy import LazyHandlers
from entrypoints.settings import EARLIEST_DATE, LATEST_DATE, Settings
from lifecycle.clock import Clock, FixedClock
from lifecycle.errors import InvalidInput
from lifecycle.validation_words import said
from workflows.service import Service

if TYPE_CHECKING:
    from notifications.channels import SmtpSettings
    from notifications.relay import Relay
    from notifications.render import Renderer
    from workflows.core import Work
    from workflows.idempotency import Idempotent, Stored


def _idempotent(w: Work, cmd: Idempotent) -> Stored:
    """Run the wrapped command once per Idempotency-Key, through this same table."""
    from workflows import idempotency

    return idempotency.run(w, cmd, HANDLERS)


# Every command and the function that handles it: the one place handlers are registered.
# Both are named "module:attribute"; a handler's module is imported when its command is first
# dispatched, so a command that sends none (``innospace list``, ``--help``) loads no workflow.
HANDLERS = LazyHandlers(
    {
        # registry
        "workflows.commands:CreateSpace": "workflows.registry:create_space",
        "workflows.commands:AddUnit": "workflows.registry:add_unit",
        "workflows.commands:RegisterFirm": "workflows.registry:register_firm",
        "workflows.commands:LoadRulebook": "workflows.registry:load_rulebook",
        "workflows.commands:SetCalendarDay": "workflows.registry:set_calendar_day",
        "workflows.commands:ImportCalendar": "workflows.registry:import_calendar",
        "workflows.commands:PublishCalendarYear": "workflows.calendar_years:publish_year",
        # admission
        "workflows.commands:Apply": "workflows.admission:apply",
        "workflows.commands:Screen": "workflows.admission:screen",
        "workflows.commands:RequestInfo": "workflows.admission:request_info",
        "workflows.commands:Resubmit": "workflows.admission:resubmit",
        "workflows.commands:ScoreApplication": "workflows.admission:score_application",
        "workflows.commands:Approve": "workflows.admission:approve",
        "workflows.commands:Reject": "workflows.admission:reject",
        "workflows.commands:RejectWithoutPanel": "workflows.admission:reject_without_panel",
        "workflows.commands:Withdraw": "workflows.admission:withdraw",
        "workflows.commands:Lapse": "workflows.admission:lapse",
        "workflows.commands:LodgeObjection": "workflows.publicity:lodge_objection",
        "workflows.commands:RuleOnObjection": "workflows.publicity:rule_on_objection",
        "workflows.commands:EndPublicity": "workflows.publicity:end_publicity",
        "workflows.commands:Sign": "workflows.agreement:sign",
        "workflows.application_drafts:SaveApplicationDraft": (
            "workflows.application_drafts:save_draft"
        ),
        "workflows.application_drafts:SubmitApplication": (
            "workflows.application_drafts:submit_application"
        ),
        # residency
        "workflows.commands:OpenReview": "workflows.residency:open_review",
        "workflows.commands:SubmitReview": "workflows.residency:submit_review",
        "workflows.commands:DecideReview": "workflows.residency:decide_review",
        "workflows.commands:SubmitQuarterlyReport": "workflows.quarterly:submit_quarterly_report",
        "workflows.commands:FileRectificationPlan": "workflows.residency:file_plan",
        "workflows.commands:ExtendRectification": "workflows.residency:extend_rectification",
        "workflows.commands:Reinspect": "workflows.residency:reinspect",
        "workflows.commands:ReportViolation": "workflows.residency:report_violation",
        "workflows.commands:CureViolation": "workflows.residency:cure_violation",
        "workflows.commands:RecordBenefit": "workflows.benefits:record_benefit_cmd",
        "workflows.commands:DecideCycle": "workflows.operations:decide_cycle",
        "workflows.forms:ImportFigures": "workflows.forms:import_figures",
        # the console's cycle board and the portal's figures form
        "workflows.cycle_pages:RemindCycle": "workflows.cycle_pages:remind_cycle",
        "workflows.cycle_pages:StartCycleJob": "workflows.cycle_pages:start_cycle_job",
        "workflows.cycle_pages:ClaimCycleJob": "workflows.cycle_pages:claim_cycle_job",
        "workflows.cycle_pages:ReportCycleJob": "workflows.cycle_pages:report_cycle_job",
        "workflows.cycle_pages:FinishCycleJob": "workflows.cycle_pages:finish_cycle_job",
        "workflows.cycle_pages:RunCycleDecision": "workflows.cycle_pages:run_cycle_decision",
        "workflows.cycle_pages:SaveFigureDraft": "workflows.cycle_pages:save_figure_draft",
        # exit
        "workflows.commands:ServeExitNotice": "workflows.exits:serve_exit_notice",
        "workflows.commands:ConfirmExit": "workflows.exits:confirm_exit_cmd",
        "workflows.commands:BeginExit": "workflows.exits:begin_exit",
        "workflows.commands:EndGraduationPublicity": "workflows.exits:end_graduation_publicity",
        "workflows.commands:HandOver": "workflows.exits:hand_over",
        "workflows.commands:EscalateVacating": "workflows.exits:escalate_vacating",
        "workflows.commands:WaiveWindow": "workflows.windows:waive_window",
        # the firm's answers from the portal (with attached files) and its exit request
        "workflows.answers:FileDefence": "workflows.answers:file_defence",
        "workflows.answers:FilePlan": "workflows.answers:file_plan",
        "workflows.answers:RequestVoluntaryExit": "workflows.answers:request_voluntary_exit",
        # operations
        "workflows.commands:RetryDeadlines": "workflows.operations:retry_deadlines",
        "workflows.commands:RetryNotices": "workflows.operations:retry_notices",
        "workflows.commands:MarkInboxRead": "workflows.operations:mark_inbox_read",
        "workflows.commands:SaveTemplate": "workflows.operations:save_template",
        # outbound integrations (webhooks, WeCom / DingTalk robots)
        "workflows.integrations:AddEndpoint": "workflows.integrations:add_endpoint",
        "workflows.integrations:DisableEndpoint": "workflows.integrations:disable_endpoint",
        "workflows.integrations:RotateSecret": "workflows.integrations:rotate_secret",
        # corrections
        "workflows.corrections:EditFirm": "workflows.corrections:edit_firm",
        "workflows.corrections:EditUnit": "workflows.corrections:edit_unit",
        "workflows.corrections:RetireUnit": "workflows.corrections:retire_unit",
        "workflows.corrections:AmendAgreement": "workflows.corrections:amend_agreement",
        # identity
        "workflows.identity_commands:AddUser": "workflows.accounts:add_user",
        "workflows.identity_commands:SetPassword": "workflows.accounts:set_password",
        "workflows.identity_commands:DisableUser": "workflows.accounts:disable_user",
        "workflows.identity_commands:EnableUser": "workflows.accounts:enable_user",
        "workflows.identity_commands:UnlockUser": "workflows.accounts:unlock_user",
        "workflows.identity_commands:GrantSpace": "workflows.accounts:grant_space",
        "workflows.identity_commands:CreateToken": "workflows.accounts:create_token",
        "workflows.identity_commands:RevokeToken": "workflows.accounts:revoke_token",
        "workflows.identity_commands:TouchToken": "workflows.accounts:touch_token",
        "workflows.identity_commands:RecordLogin": "workflows.logins:record_login",
        "workflows.identity_commands:Logout": "workflows.logins:logout",
        "workflows.identity_commands:TouchSession": "workflows.logins:touch_session",
        "workflows.identity_commands:AssignReviewer": "workflows.accounts:assign_reviewer",
        "workflows.identity_commands:UnassignReviewer": "workflows.accounts:unassign_reviewer",
        # city opportunity lists (城市机会清单) and the land ledger
        "workflows.opportunity_commands:SubmitEntry": "workflows.opportunities:submit_entry",
        "workflows.opportunity_commands:EditEntry": "workflows.opportunities:edit_entry",
        "workflows.opportunity_commands:AttachToEntry": "workflows.opportunities:attach_to_entry",
        "workflows.opportunity_commands:ReturnEntry": "workflows.opportunities:return_entry",
        "workflows.opportunity_commands:AcceptEntry": "workflows.opportunities:accept_entry",
        "workflows.opportunity_commands:CreateList": "workflows.opportunities:create_list",
        "workflows.opportunity_commands:ArrangeList": "workflows.opportunities:arrange_list",
        "workflows.opportunity_commands:PublishList": "workflows.opportunities:publish_list",
        "workflows.opportunity_commands:Introduce": "workflows.opportunities:introduce",
        "workflows.opportunity_commands:RecordOutcome": "workflows.opportunities:record_outcome",
        "workflows.opportunity_commands:AddParcel": "workflows.land:add_parcel",
        "workflows.opportunity_commands:EditParcel": "workflows.land:edit_parcel",
        # the HTTP API: a POST with an Idempotency-Key runs its command through this
        "workflows.idempotency:Idempotent": "entrypoints.bootstrap:_idempotent",
        "workflows.idempotency:PurgeIdempotencyKeys": "workflows.idempotency:purge",
    }
)


class SystemClock:
    """The wall clock, in UTC. Only the composition root creates one."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ShiftedClock:
    """The wall clock moved to another instant: it reads ``start`` when made and runs on from
    there. ``serve --demo`` runs in the demo's own time (the end of its third year), where its
    deadlines and reviews are current; only a training database is served so."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ShiftedClock needs an aware datetime")
        self._offset = start.astimezone(UTC) - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset


@dataclass
class App:
    settings: Settings
    engine: Engine
    clock: Clock
    service: Service

    @cached_property
    def renderer(self) -> Renderer:
        """The notice renderer (Jinja2), made when a command first renders or relays."""
        from notifications.render import Renderer

        return Renderer()

    def smtp(self) -> SmtpSettings | None:
        s = self.settings
        if not s.smtp_host:
            return None
        from notifications.channels import SmtpSettings

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
        from notifications.relay import Relay

        return Relay(self.engine, self.renderer, self.smtp(), clock or self.clock)


def load_settings() -> Settings:
    """Read the environment; a bad value is an InvalidInput naming the variable."""
    try:
        settings = Settings.from_env()
    except ValidationError as err:
        first = err.errors()[0]
        name = "INNOSPACE_" + "_".join(str(p) for p in first["loc"]).upper()
        raise InvalidInput(name, said(first)) from None
    check_settings(settings)
    return settings


def check_settings(settings: Settings) -> None:
    """Refuse a configuration that would leak a secret: an SMTP login in clear text."""
    if settings.smtp_host:
        from notifications.channels import plaintext_auth_problem

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
