"""A firm's application form saved in the portal before it is sent (``application_drafts``).

A draft is the form as typed — text by field name, checked only for size — so a firm can
leave a half-filled form and come back to it. Nothing reads a draft but the form itself:
the application is what ``Apply`` stores when the firm submits — :class:`SubmitApplication`
sends it and discards the draft in one transaction. A draft touches no tenancy, so it
writes no audit event.
"""

from __future__ import annotations

from typing import Any

from lifecycle.errors import InvalidInput, NotFound
from workflows import admission, page_rules
from workflows.commands import Apply, Command
from workflows.core import Step, Work
from workflows.inputs import check_text, checked_command

#: At most this many fields, each at most this many characters: a form, not a file store.
MAX_FIELDS = 60
MAX_FIELD_CHARS = 2_000


class SaveApplicationDraft(Command):
    """Keep the firm's application form as typed (replacing its earlier draft)."""

    firm_id: int
    values: dict[str, str]


class SubmitApplication(Command):
    """Send the firm's application (``application``, an :class:`Apply` for ``firm_id``) and
    discard its draft, in one transaction: the draft is gone exactly when the application
    is stored."""

    firm_id: int
    application: Apply


def save_draft(w: Work, cmd: SaveApplicationDraft) -> dict[str, Any]:
    if w.uow.registry.firm(cmd.firm_id) is None:
        raise NotFound("firm", cmd.firm_id)
    if len(cmd.values) > MAX_FIELDS:
        raise InvalidInput("fields", f"不得超过 {MAX_FIELDS} 项 / at most {MAX_FIELDS} fields")
    fields: dict[str, str] = {}
    for name, value in cmd.values.items():
        if not isinstance(name, str) or not isinstance(value, str) or len(name) > 64:
            raise InvalidInput("fields", "须为文本 / must be text", str(name)[:64])
        fields[name] = check_text(name, value, limit=MAX_FIELD_CHARS)
    draft = w.uow.pages.application_draft(cmd.firm_id)
    w.apply_rows(
        page_rules.application_draft(draft, cmd.firm_id, fields, actor=cmd.actor, now=w.now)
    )
    return {"firm_id": cmd.firm_id, "saved_at": w.now.isoformat(), "fields": len(fields)}


def submit_application(w: Work, cmd: SubmitApplication) -> Step:
    firm = w.firm(cmd.application.firm)
    if firm.id != cmd.firm_id:  # the portal names the account's firm in both: never another
        raise NotFound("firm", cmd.application.firm)
    step = admission.apply(w, checked_command(cmd.application))
    w.apply_rows(page_rules.discard_application_draft(w.uow.pages.application_draft(cmd.firm_id)))
    return step
