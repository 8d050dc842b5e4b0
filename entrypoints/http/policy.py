"""Who may call which route: ONE table, keyed by route name.

Every route of the API has an entry (a test walks ``app.routes`` and fails on a route without
one; :func:`rule_for` refuses one at run time too). A rule names the roles that may ever call
the route — any other role gets 403 — and the scope its record is checked in:

- ``tenancy``: the path's ``tenancy_id`` must be visible to the account — an admin sees all,
  an operator or viewer the tenancies of their spaces, a firm user its own firm's, a reviewer
  the applications assigned to them. Anything else is 404, exactly as if it did not exist
  (the API never confirms that another firm's record exists).
- ``space``: the path's ``space`` (code) must be one the account may see (404 otherwise).
- ``exit_case``: the path's ``exit_case_id`` must belong to a tenancy visible to the account,
  as for ``tenancy`` (404 otherwise).
- ``none``: no single record; a list is narrowed to the account's scope by the route itself.

Roles: admin (accounts, rulebooks, templates, everything), operator (their spaces, every
action there), reviewer (assigned applications: read, score), firm (its own tenancies,
reviews, notices, deadlines, opportunity entries), viewer (read-only in the spaces granted;
as the district, it also assembles and publishes the city opportunity lists).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lifecycle.errors import Forbidden

Scope = Literal["none", "tenancy", "space", "exit_case"]

ADMIN = frozenset({"admin"})
STAFF = frozenset({"admin", "operator"})
READERS = frozenset({"admin", "operator", "viewer"})
TENANCY_READERS = frozenset({"admin", "operator", "viewer", "firm", "reviewer"})
EVERYONE = TENANCY_READERS
#: The district: it assembles and publishes the city opportunity lists (城市机会清单).
DISTRICT = frozenset({"admin", "viewer"})


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    scope: Scope = "none"
    #: No account needed (logging in).
    public: bool = False


#: The lifecycle actions (``POST /api/tenancies/{id}/actions/{trigger}``) and who may send
#: each, besides admins and operators: firms file their own paperwork; reviewers score.
ACTION_EXTRA_ROLES: dict[str, frozenset[str]] = {
    "resubmit": frozenset({"firm"}),
    "withdraw": frozenset({"firm"}),
    "object": frozenset({"firm"}),
    "submit_review": frozenset({"firm"}),
    "submit_quarterly_report": frozenset({"firm"}),
    "file_plan": frozenset({"firm"}),
}
ACTION_TRIGGERS = (
    "screen",
    "request_info",
    "resubmit",
    "approve",
    "reject",
    "reject_without_panel",
    "withdraw",
    "object",
    "rule_on_objection",
    "end_publicity",
    "sign",
    "open_review",
    "submit_review",
    "submit_quarterly_report",
    "decide_review",
    "file_plan",
    "extend_rectification",
    "reinspect",
    "report_violation",
    "cure_violation",
    "serve_exit_notice",
    "confirm_exit",
    "request_voluntary_exit",
    "begin_exit",
    "hand_over",
    "waive_window",
    "record_benefit",
)

POLICY: dict[str, Rule] = {
    # session
    "session_login": Rule(EVERYONE, public=True),
    "session_logout": Rule(EVERYONE),
    "session_whoami": Rule(EVERYONE),
    # tenancies
    "tenancies_list": Rule(TENANCY_READERS),
    "tenancy_show": Rule(TENANCY_READERS, "tenancy"),
    "tenancy_timeline": Rule(TENANCY_READERS - {"reviewer"}, "tenancy"),
    **{
        f"tenancy_action_{trigger}": Rule(
            STAFF | ACTION_EXTRA_ROLES.get(trigger, frozenset()), "tenancy"
        )
        for trigger in ACTION_TRIGGERS
    },
    # applications
    "application_apply": Rule(STAFF | {"firm"}),
    "application_scores": Rule(frozenset({"admin", "operator", "viewer", "reviewer"}), "tenancy"),
    "application_score": Rule(frozenset({"admin", "operator", "reviewer"}), "tenancy"),
    # registry
    "spaces_list": Rule(READERS | {"reviewer"}),
    "space_create": Rule(ADMIN),
    "units_list": Rule(READERS, "space"),
    "unit_add": Rule(STAFF, "space"),
    "firms_list": Rule(STAFF),
    "firm_me": Rule(frozenset({"firm"})),
    "firm_register": Rule(STAFF),
    # violations and exit cases: staff and viewers in their spaces, a firm its own
    "violations_list": Rule(READERS | {"firm"}),
    "exit_cases_list": Rule(READERS | {"firm"}),
    "exit_case_show": Rule(READERS | {"firm"}, "exit_case"),
    # reviews
    "review_cycle_decide": Rule(STAFF, "space"),
    # quarterly light reports: a quarter's filings of a space (filed, late, missing)
    "quarterly_filings": Rule(READERS, "space"),
    # deadlines, outbox, inbox
    "deadlines_list": Rule(READERS | {"firm"}),
    "deadlines_retry": Rule(ADMIN),
    "outbox_list": Rule(ADMIN),
    "outbox_retry": Rule(ADMIN),
    "inbox_list": Rule(STAFF | {"firm"}),
    "inbox_mark_read": Rule(STAFF | {"firm"}),
    # rulebooks, templates, calendar, audit
    "rulebooks_list": Rule(READERS),
    "rulebook_check": Rule(ADMIN),
    "rulebook_load": Rule(ADMIN),
    "rulebook_activate": Rule(ADMIN, "space"),
    "rulebook_simulate": Rule(STAFF, "space"),
    "templates_history": Rule(ADMIN),
    "template_set": Rule(ADMIN),
    "template_preview": Rule(ADMIN),
    "calendar_list": Rule(EVERYONE),
    "calendar_set": Rule(ADMIN),
    "audit_verify": Rule(ADMIN),
    # 城市机会清单: firms their own entries (checked by the routes: another firm's is 404),
    # staff and viewers their spaces'; the district (viewer, admin) assembles and publishes
    "opportunity_entries_list": Rule(READERS | {"firm"}),
    "opportunity_entry_submit": Rule(STAFF | {"firm"}),
    "opportunity_entry_show": Rule(READERS | {"firm"}),
    "opportunity_entry_edit": Rule(STAFF | {"firm"}),
    "opportunity_entry_attach": Rule(STAFF | {"firm"}),
    "opportunity_entry_file": Rule(READERS | {"firm"}),
    "opportunity_entry_return": Rule(STAFF),
    "opportunity_entry_accept": Rule(STAFF),
    "opportunity_entry_suggestions": Rule(READERS),
    "introductions_list": Rule(READERS | {"firm"}),
    "introduction_create": Rule(STAFF),
    "introduction_outcome": Rule(STAFF),
    "opportunity_lists_list": Rule(READERS | {"firm"}),
    "opportunity_list_create": Rule(DISTRICT),
    "opportunity_list_show": Rule(READERS | {"firm"}),
    "opportunity_list_arrange": Rule(DISTRICT),
    "opportunity_list_publish": Rule(DISTRICT),
    "opportunity_list_export": Rule(READERS | {"firm"}),
    "public_opportunity_list": Rule(EVERYONE, public=True),
    # the land ledger and the district view
    "land_list": Rule(READERS, "space"),
    "land_add": Rule(STAFF, "space"),
    "land_edit": Rule(STAFF, "space"),
    "district_view": Rule(READERS),
    "district_export": Rule(READERS),
}


def rule_for(route_name: str) -> Rule:
    """The rule of a route; a route without one is refused (and fails the matrix test)."""
    rule = POLICY.get(route_name)
    if rule is None:
        raise Forbidden(
            f"接口 {route_name} 没有授权规则 / route {route_name} has no authorization rule",
            route=route_name,
        )
    return rule
