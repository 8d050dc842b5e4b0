"""The lifecycle actions as the console offers them: which the table allows in a state, what
each does in words (the transitions it may fire, the state it leads to), who is told (the
notices its handler queues) and the form fields it needs.

The table (:mod:`lifecycle.table`) speaks in transitions (``screen_in``, ``pass_review``);
the console, like the API, in actions (``screen``, ``decide_review``), one command each
(``entrypoints.http.routes_tenancies.ACTION_COMMANDS``). An action either fires one of its
``moves`` — offered when the table allows one of them in the tenancy's state — or is
record-only (a submission, a plan, a benefit), offered in the ``states`` its handler accepts.
Guards the table cannot see (a window still running, a panel not yet complete) are the
handler's to refuse, with its own message, when the action is sent.

The actions themselves, their words, notices and fields, are the packaged
``console_actions.toml``, in the order the console lists them. ``notices`` are the catalogue
messages (:mod:`notifications.catalog`) the handler queues, read from the handlers
(``workflows.applications``, ``admittance``, ``reviews``, ``residency_rules``,
``exit_rules``); ``tests/web/test_console_tenancies.py`` holds the ones a test performs to
the outbox rows they really write.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any

from lifecycle.rulebook import Rulebook
from lifecycle.table import PHASE, STATES, Phase, allowed_triggers, transition_for
from workflows import vocabulary
from workflows.exit_rules import HANDOVER_ITEMS
from workflows.windows import WINDOWS


@dataclass(frozen=True, kw_only=True)
class FormField:
    """A field of an action's form. ``kind``: text, textarea, date, int, yuan (whole 元),
    bool (a checkbox), choice (``choices``: value, 中文, English), checks (one checkbox per
    choice, sent as a mapping of choice → ticked), codes (comma-separated list).
    ``choices_from``: the choices are the tenancy's rulebook's (:func:`with_rulebook`):
    ``violations`` (the grounds an operator reports) or ``grounds`` (every forced-exit
    ground); the command checks the code sent against the rulebook itself. Otherwise the
    page's query fills them: ``open_violations`` (the tenancy's violations still open)."""

    name: str
    zh: str
    en: str
    kind: str = "text"
    required: bool = True
    choices: tuple[tuple[str, str, str], ...] = ()
    help_zh: str = ""
    help_en: str = ""
    choices_from: str = ""


@dataclass(frozen=True, kw_only=True)
class Notice:
    """A notice the action queues: the catalogue message, its audience, what it says."""

    message: str
    audience: str = "firm"
    zh: str
    en: str
    when_zh: str = ""  # the condition, when not every send of the action queues it
    when_en: str = ""


@dataclass(frozen=True, kw_only=True)
class Action:
    trigger: str
    zh: str
    en: str
    moves: tuple[str, ...] = ()
    states: tuple[str, ...] = ()  # record-only actions: the states that accept them
    notices: tuple[Notice, ...] = ()
    fields: tuple[FormField, ...] = ()
    #: False for what can be corrected by a later step (a record, a request): every other
    #: action asks first with a red button.
    irreversible: bool = True

    def allowed_in(self, state: str) -> bool:
        if self.moves:
            allowed = allowed_triggers(state)
            return any(m in allowed for m in self.moves)
        return state in self.states

    def outcomes(self, state: str) -> list[dict[str, str]]:
        """The transitions this action may fire from ``state``: label and resulting state."""
        out = []
        for move in self.moves:
            t = transition_for(state, move)
            if t is not None:
                out.append({"move": move, "zh": t.label_zh, "en": t.label_en, "to": t.dest})
        return out


#: The choices a field of the table names (``choices = "outcomes"``), from the vocabulary.
_PASS, _RECTIFY, _FAIL = (vocabulary.OUTCOMES[k] for k in ("pass", "rectify", "fail"))
CHOICES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "outcomes": (
        ("", "按规则评定", "as the rulebook decides"),
        ("pass", *_PASS),
        ("rectify", *_RECTIFY),
        ("fail", f"{_FAIL[0]}（启动退出）", f"{_FAIL[1]} (start exit)"),
    ),
    # The exits an operator begins by hand (a forced exit starts with its notice).
    "exit_types": tuple(
        (k, *vocabulary.EXIT_TYPES[k]) for k in ("term_expiry", "voluntary", "graduation")
    ),
    "benefit_kinds": tuple((k, zh, en) for k, (zh, en) in vocabulary.BENEFITS.items()),
    "handover": tuple((k, *vocabulary.HANDOVER[k]) for k in HANDOVER_ITEMS),
    "windows": tuple((k, zh, en) for k, (zh, en) in WINDOWS.items()),
}


def _states(names: list[str]) -> tuple[str, ...]:
    """The states named: each a state, or a phase standing for every state in it."""
    out: list[str] = []
    for name in names:
        if name in STATES:
            out.append(name)
        elif name in {p.value for p in Phase}:
            out.extend(s for s, p in PHASE.items() if p.value == name)
        else:
            raise ValueError(f"console_actions.toml: {name!r} is neither a state nor a phase")
    return tuple(out)


def _field(entry: dict[str, Any]) -> FormField:
    if "choices" in entry:
        entry = {**entry, "choices": CHOICES[entry["choices"]]}
    return FormField(**entry)


def _actions() -> tuple[Action, ...]:
    """The packaged ``console_actions.toml``: its actions, in its order."""
    text = resources.files("workflows").joinpath("console_actions.toml").read_text("utf-8")
    table = tomllib.loads(text)
    fields = {k: _field(v) for k, v in table["fields"].items()}
    notices = {k: Notice(**v) for k, v in table["notices"].items()}
    return tuple(
        Action(
            **{
                **entry,
                "moves": tuple(entry.get("moves", ())),
                "states": _states(entry.get("states", [])),
                "notices": tuple(
                    notices[n] if isinstance(n, str) else Notice(**n)
                    for n in entry.get("notices", [])
                ),
                "fields": tuple(
                    fields[f] if isinstance(f, str) else _field(f) for f in entry.get("fields", [])
                ),
            }
        )
        for entry in table["actions"]
    )


ACTIONS: tuple[Action, ...] = _actions()
BY_TRIGGER: dict[str, Action] = {a.trigger: a for a in ACTIONS}
#: Left to other pages: a review's figures are a form of their own (the portal, the cycle
#: board's import); a firm's request to leave is the portal's exit page (a letter on paper:
#: `innospace exit request`); a quarter's light report is the portal's quarterly form
#: (`innospace quarterly submit` for one handed in on paper).
ELSEWHERE = frozenset({"submit_review", "request_voluntary_exit", "submit_quarterly_report"})
#: Offered only while the tenancy has a violation still open (none cured, none escalated).
CURE = "cure_violation"


def allowed(state: str) -> list[Action]:
    """The actions the table (or the record-only rule) allows in ``state``, in table order."""
    return [a for a in ACTIONS if a.allowed_in(state)]


def described(action: Action, state: str, rb: Rulebook | None = None) -> dict[str, Any]:
    """What the confirmation page says of ``action`` in ``state`` (its fields' choices from
    the tenancy's rulebook ``rb``, where they come from it)."""
    return {
        "trigger": action.trigger,
        "zh": action.zh,
        "en": action.en,
        "outcomes": action.outcomes(state),
        "record_only": not action.moves,
        "notices": action.notices,
        "fields": action.fields if rb is None else with_rulebook(action.fields, rb),
        "irreversible": action.irreversible,
    }


#: The ``choices_from`` the tenancy's rulebook fills (the others, the page's query fills).
FROM_RULEBOOK = ("violations", "grounds")


def with_rulebook(fields: tuple[FormField, ...], rb: Rulebook) -> tuple[FormField, ...]:
    """``fields`` with the choices that come from the rulebook filled in: the grounds in
    words, 中文 and English, so nobody types a code."""
    out = []
    for f in fields:
        if f.choices_from in FROM_RULEBOOK:
            # the grounds the engine raises itself are neither reported nor served by hand
            triggers = [t for t in rb.triggers.values() if not t.raised_by_engine]
            f = replace(f, choices=tuple((t.code, t.label_zh, t.label_en) for t in triggers))
        out.append(f)
    return tuple(out)
