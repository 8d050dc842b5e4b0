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
    "web_tenancies": Rule(READERS),
    # a firm user is in the rule so that another firm's tenancy is "not found" (its own
    # is sent to the portal)
    "web_tenancy": Rule(READERS | FIRM, "tenancy"),
    "web_tenancy_action_form": Rule(STAFF, "tenancy"),
    "web_tenancy_action": Rule(STAFF, "tenancy"),
    # console: applications, scoring, publicity
    # console: review cycles
    # console: operations (outbox, deadlines, rulebook, templates, calendar, accounts)
    # portal (firm users)
    "web_portal": Rule(FIRM),
}


def page_rule(route_name: str) -> Rule | None:
    return PAGES.get(route_name)


__all__ = ["ADMIN", "CONSOLE", "FIRM", "PAGES", "REVIEWERS", "STAFF", "page_rule"]
