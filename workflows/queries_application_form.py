"""Named queries of the firm portal's application form: the form's fields under the chosen
space's rulebook, the firm's saved draft, and the firm's own applications with their status
and screening (each takes :class:`Work` first, never writes)."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import col, select

from db.tables import Application, ApplicationDraft, AuditEvent, Deadline, Firm, Space, Tenancy
from lifecycle.errors import NotFound
from workflows import forms, rules
from workflows.core import Work
from workflows.queries_applications import screening_of


def application_form(w: Work, *, firm_id: int, space: str | None = None) -> dict[str, Any]:
    """What the portal's application form needs: the firm as registered, the spaces it may
    apply to, and the fields of the profile with their labels, rules and choices under the
    rulebook of ``space`` (by default the first space)."""
    firm = w.session.get(Firm, firm_id)
    if firm is None:
        raise NotFound("firm", firm_id)
    spaces = w.session.exec(select(Space).order_by(col(Space.id))).all()
    chosen = next((s for s in spaces if s.code == space), spaces[0] if spaces else None)
    specs: list[dict[str, Any]] = []
    industries: dict[str, str] = {}
    tracks: dict[str, tuple[str, str]] = {}
    if chosen is not None:
        rb = rules.by_version(w, chosen.rulebook_version)
        industries = {i.code: i.label_zh for i in rb.industries}
        named_zh = {i.code: i.label_zh for i in rb.industries}
        named_en = {i.code: i.label_en for i in rb.industries}
        tracks = {code: (tr.label_zh, tr.label_en) for code, tr in rb.tracks.items()}
        specs = [
            {
                "code": s.code,
                "label_zh": s.label_zh,
                "label_en": s.label_en,
                "type": s.type,
                "unit": s.unit,
                "unit_zh": s.unit_zh,
                "unit_en": s.unit_en,
                "rule_zh": s.rule_zh,
                "rule_en": s.rule_en,
                # What the rulebook requires of the field (its hard requirements), without
                # the file format's wording (the first part of the rule, and its notes).
                # (an industry by its name: the form's person picks names, not codes)
                "help_zh": _named("；".join(_requirements(s.rule_zh, "；")), named_zh),
                "help_en": _named("; ".join(_requirements(s.rule_en, "; ")), named_en),
                "choices": list(s.choices),
                "example": s.example,
                "positive": s.positive,
            }
            for s in forms.profile_fields(rb)
        ]
    return {
        "firm": {
            "id": firm.id,
            "name": firm.name,
            "uscc": firm.uscc,
            "industry": firm.industry,
            "founded_on": firm.founded_on,
        },
        "spaces": [{"code": s.code, "name": s.name} for s in spaces],
        "space": chosen.code if chosen is not None else None,
        "fields": specs,
        "industries": industries,
        "tracks": tracks,
    }


def _requirements(rule: str, sep: str) -> list[str]:
    return [part for part in rule.split(sep)[1:] if "firm add" not in part]


def _named(text: str, names: dict[str, str]) -> str:
    """``text`` with each code of ``names`` replaced by its name."""
    if not names:
        return text
    codes = "|".join(re.escape(code) for code in sorted(names, key=len, reverse=True))
    return re.sub(rf"(?<![\w])({codes})(?![\w])", lambda m: names[m.group(1)], text)


def application_draft(w: Work, *, firm_id: int) -> dict[str, Any] | None:
    """The firm's saved form (its fields as typed, when and by whom), or None."""
    row = w.session.exec(
        select(ApplicationDraft).where(ApplicationDraft.firm_id == firm_id)
    ).first()
    if row is None:
        return None
    return {"fields": dict(row.fields), "saved_at": row.saved_at, "saved_by": row.saved_by}


def firm_applications(w: Work, *, firm_id: int) -> list[dict[str, Any]]:
    """The firm's own applications, newest first: space, state, submitted, screening
    (each failed requirement named), the 公示 dates and the deadlines that concern it."""
    rows = w.session.exec(
        select(Tenancy, Space, Application)
        .join(Space, col(Space.id) == col(Tenancy.space_id))
        .join(Application, col(Application.tenancy_id) == col(Tenancy.id))
        .where(Tenancy.firm_id == firm_id)
        .order_by(col(Tenancy.id).desc())
    ).all()
    out: list[dict[str, Any]] = []
    for t, sp, app in rows:
        assert t.id is not None
        deadlines = w.session.exec(
            select(Deadline)
            .where(Deadline.tenancy_id == t.id, Deadline.status == "pending")
            .order_by(col(Deadline.due_at))
        ).all()
        last = w.session.exec(
            select(AuditEvent)
            .where(
                AuditEvent.tenancy_id == t.id,
                col(AuditEvent.trigger).in_(
                    ("screen_out", "request_info", "reject", "reject_without_panel", "approve")
                ),
            )
            .order_by(col(AuditEvent.seq).desc())
        ).first()
        approve_data = (last.data or {}) if last is not None and last.trigger == "approve" else {}
        out.append(
            {
                "id": t.id,
                "space": sp.code,
                "space_name": sp.name,
                "state": t.state,
                "track": t.track,
                "area": app.requested_area_m2,
                "submitted_at": app.submitted_at,
                "profile": dict(app.profile or {}),
                "screening": screening_of(app.decision),
                "last_trigger": last.trigger if last is not None else None,
                "last_reason": last.reason if last is not None else None,
                "items": (last.data or {}).get("items")
                if last is not None and last.trigger == "request_info"
                else None,
                "publicity_from": approve_data.get("publicity_from"),
                "publicity_to": approve_data.get("publicity_to"),
                "deadlines": [{"kind": d.kind, "due_on": d.due_on} for d in deadlines],
            }
        )
    return out
