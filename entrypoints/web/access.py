"""Who may open which page: ONE table for the console and the portal, keyed by route name,
with the API's :class:`~entrypoints.http.policy.Rule` (roles, and the scope the path's record
is checked in: ``tenancy``, ``space``, ``exit_case`` — a record outside the account's scope is
"not found", exactly as in the API).

``tests/web/test_access.py`` walks the app's page routes and fails on one without a rule.
"""

from __future__ import annotations

from entrypoints.http.policy import ADMIN, DISTRICT, EVERYONE, READERS, STAFF, Rule

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
    # console: applications, scoring, publicity (a reviewer sees the applications assigned)
    "web_applications": Rule(CONSOLE),
    "web_application": Rule(CONSOLE, "tenancy"),
    "web_application_confirm": Rule(STAFF, "tenancy"),
    "web_application_act": Rule(STAFF, "tenancy"),
    "web_application_assign": Rule(STAFF, "tenancy"),
    "web_application_unassign": Rule(STAFF, "tenancy"),
    "web_application_score": Rule(frozenset({"reviewer"}), "tenancy"),
    "web_publicity": Rule(READERS),
    # portal: applying (the firm comes from the account, never from the form)
    "web_portal_apply": Rule(FIRM),
    "web_portal_apply_submit": Rule(FIRM),
    "web_portal_apply_resubmit": Rule(FIRM, "tenancy"),
    "web_portal_apply_answer": Rule(FIRM, "tenancy"),
    "web_portal_apply_withdraw": Rule(FIRM, "tenancy"),
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
    "web_tenancies": Rule(READERS),
    # a firm user is in the rule so that another firm's tenancy is "not found" (its own
    # is sent to the portal)
    "web_tenancy": Rule(READERS | FIRM, "tenancy"),
    "web_tenancy_action_form": Rule(STAFF, "tenancy"),
    "web_tenancy_action": Rule(STAFF, "tenancy"),
    # console: applications, scoring, publicity
    # console: review cycles
    "web_cycles": Rule(READERS),
    "web_cycle_open": Rule(STAFF),  # the space is a form field: the route checks its scope
    "web_cycle": Rule(READERS, "space"),
    "web_cycle_job": Rule(READERS, "space"),
    "web_cycle_sheet": Rule(STAFF, "space"),
    "web_cycle_remind": Rule(STAFF, "space"),
    "web_cycle_import": Rule(STAFF, "space"),
    "web_cycle_preview": Rule(READERS, "space"),
    "web_cycle_decide": Rule(STAFF, "space"),
    "web_portal_figures": Rule(FIRM),
    "web_portal_figures_form": Rule(FIRM, "tenancy"),
    "web_portal_figures_save": Rule(FIRM, "tenancy"),
    "web_portal_figures_upload": Rule(FIRM, "tenancy"),
    # quarterly light reports: the firm's form, the console's list of a quarter's filings
    "web_portal_quarterly": Rule(FIRM),
    "web_portal_quarterly_form": Rule(FIRM, "tenancy"),
    "web_portal_quarterly_save": Rule(FIRM, "tenancy"),
    "web_quarterly": Rule(READERS),
    # console: operations (outbox, deadlines, rulebook, templates, calendar, accounts)
    "web_ops": Rule(READERS),
    "web_ops_outbox": Rule(ADMIN),
    "web_ops_outbox_retry": Rule(ADMIN),
    "web_ops_deadlines": Rule(READERS),
    "web_ops_deadlines_retry": Rule(ADMIN),
    "web_ops_rulebooks": Rule(READERS),
    "web_ops_rulebook": Rule(READERS, "space"),
    "web_ops_rulebook_toml": Rule(READERS, "space"),
    "web_ops_rulebook_check": Rule(ADMIN),
    "web_ops_rulebook_load": Rule(ADMIN),
    "web_ops_rulebook_activate": Rule(ADMIN, "space"),
    "web_ops_simulate_form": Rule(STAFF, "space"),
    "web_ops_simulate": Rule(STAFF, "space"),
    "web_ops_templates": Rule(ADMIN),
    "web_ops_template": Rule(ADMIN),
    "web_ops_template_preview": Rule(ADMIN),
    "web_ops_template_save": Rule(ADMIN),
    "web_ops_template_rollback": Rule(ADMIN),
    "web_ops_calendar": Rule(READERS),
    "web_ops_calendar_import": Rule(ADMIN),
    "web_ops_calendar_day": Rule(ADMIN),
    "web_ops_calendar_publish": Rule(ADMIN),
    "web_ops_accounts": Rule(ADMIN),
    "web_ops_account_add": Rule(ADMIN),
    "web_ops_account_disable": Rule(ADMIN),
    "web_ops_account_enable": Rule(ADMIN),
    "web_ops_account_unlock": Rule(ADMIN),
    "web_ops_account_grant": Rule(ADMIN),
    "web_ops_account_password_form": Rule(ADMIN),
    "web_ops_account_password": Rule(ADMIN),
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
    # 城市机会清单 (o18): a firm its own entries (another firm's is "not found", checked by the
    # route), staff and viewers their spaces'; the district (viewer, admin) the numbered lists;
    # a published list for anyone, without an account
    "web_portal_opportunities": Rule(FIRM),
    "web_portal_opportunity_submit": Rule(FIRM),
    "web_portal_opportunity": Rule(FIRM),
    "web_portal_opportunity_edit": Rule(FIRM),
    "web_portal_opportunity_attach": Rule(FIRM),
    "web_portal_opportunity_file": Rule(FIRM),
    "web_opportunities": Rule(READERS),
    "web_opportunity": Rule(READERS),
    "web_opportunity_edit": Rule(STAFF),
    "web_opportunity_attach": Rule(STAFF),
    "web_opportunity_file": Rule(READERS),
    "web_opportunity_return": Rule(STAFF),
    "web_opportunity_accept": Rule(STAFF),
    "web_opportunity_introduce": Rule(STAFF),
    "web_opportunity_outcome": Rule(STAFF),
    "web_opportunity_lists": Rule(DISTRICT),
    "web_opportunity_list_create": Rule(DISTRICT),
    "web_opportunity_list": Rule(DISTRICT),
    "web_opportunity_list_arrange": Rule(DISTRICT),
    "web_opportunity_list_publish": Rule(DISTRICT),
    "web_opportunity_list_export": Rule(DISTRICT),
    "web_opportunity_list_print": Rule(DISTRICT),
    "web_public_list": Rule(EVERYONE, public=True),
    "web_district": Rule(READERS),
}


def page_rule(route_name: str) -> Rule | None:
    return PAGES.get(route_name)


__all__ = ["ADMIN", "CONSOLE", "FIRM", "PAGES", "REVIEWERS", "STAFF", "page_rule"]
