"""Who may open which page: ONE table for the console and the portal, keyed by route name,
with the API's :class:`~entrypoints.http.policy.Rule` (roles, and the scope the path's record
is checked in: ``tenancy``, ``space``, ``exit_case`` — a record outside the account's scope is
"not found", exactly as in the API).

``tests/web/test_access.py`` walks the app's page routes and fails on one without a rule.
"""

from __future__ import annotations

from entrypoints.http.policy import ADMIN, EVERYONE, READERS, STAFF, Rule

FIRM = frozenset({"firm"})
CONSOLE = READERS | {"reviewer"}
REVIEWERS = STAFF | {"reviewer"}

PAGES: dict[str, Rule] = {
    # signing in and out, language (no account needed for the login page itself)
    "web_login_form": Rule(EVERYONE, public=True),
    "web_login": Rule(EVERYONE, public=True),
    "web_logout": Rule(EVERYONE),
    "web_language": Rule(EVERYONE, public=True),
    "web_home": Rule(EVERYONE),
    # console: dashboard, tenancies, exit cases
    "web_dashboard": Rule(READERS),
    # console: exit cases
    "web_exits": Rule(READERS),
    "web_exit_case": Rule(READERS, "exit_case"),
    "web_exit_rule": Rule(STAFF, "exit_case"),
    "web_exit_confirm": Rule(STAFF, "exit_case"),
    "web_exit_handover": Rule(STAFF, "exit_case"),
    "web_exit_begin": Rule(STAFF, "tenancy"),
    "web_exit_serve_form": Rule(STAFF, "tenancy"),
    "web_exit_serve": Rule(STAFF, "tenancy"),
    "web_exit_file": Rule(READERS, "exit_case"),
    # console: applications, scoring, publicity
    # console: review cycles
    # console: operations (outbox, deadlines, rulebook, templates, calendar, accounts)
    # portal (firm users)
    "web_portal": Rule(FIRM),
    # portal: notices, answers with files, voluntary exit
    "web_portal_inbox": Rule(FIRM),
    "web_portal_inbox_item": Rule(FIRM),
    "web_portal_answer": Rule(FIRM, "tenancy"),
    "web_portal_answer_send": Rule(FIRM, "tenancy"),
    "web_portal_answer_file": Rule(FIRM, "tenancy"),
    "web_portal_exit": Rule(FIRM, "tenancy"),
    "web_portal_exit_send": Rule(FIRM, "tenancy"),
}


def page_rule(route_name: str) -> Rule | None:
    return PAGES.get(route_name)


__all__ = ["ADMIN", "CONSOLE", "FIRM", "PAGES", "REVIEWERS", "STAFF", "page_rule"]
