"""Exit (退出, RULEBOOK §5–6): forced-exit triggers, vacate periods, settlement and clawback."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from lifecycle.errors import InvalidInput
from lifecycle.periods import Period
from lifecycle.rulebook._base import add_months, quantize, to_decimal
from lifecycle.rulebook.model import Rulebook
from lifecycle.rulebook.model_exit import EXIT_TYPES, Clawback, ExitType, ForcedExitTrigger
from lifecycle.rulebook.trace import Trace, TraceStep

ZERO = Decimal(0)


def _exit_type(value: str) -> ExitType:
    if value not in EXIT_TYPES:
        raise InvalidInput("exit_type", f"must be one of {', '.join(EXIT_TYPES)}", value)
    return value


def trigger(rb: Rulebook, code: str, field: str = "grounds") -> ForcedExitTrigger:
    """The forced-exit trigger ``code``; :class:`InvalidInput` naming ``field`` (the exit's
    ``grounds``, a violation's ``code``) and listing the valid codes with their words."""
    found = rb.triggers.get(code)
    if found is None:
        zh = "、".join(f"{c}（{t.label_zh}）" for c, t in rb.triggers.items())
        en = ", ".join(f"{c} ({t.label_en})" for c, t in rb.triggers.items())
        raise InvalidInput(
            field,
            f"未知的退出情形代码，可用：{zh} / unknown forced-exit trigger; valid: {en}",
            code,
        )
    return found


def handling_period(rb: Rulebook, code: str) -> Period | None:
    """The period that must run out before the exit proceeds (cure, demand, dormancy,
    delisting), or None for immediate, review and lease-end triggers."""
    found = trigger(rb, code)
    return None if found.period is None else rb.periods.get(found.period)


def reapply_bar(rb: Rulebook, grounds: str | None) -> Period | None:
    """How long a firm exited on ``grounds`` may not re-apply; None when those grounds carry no
    bar (including no grounds and grounds that are not a forced-exit trigger code)."""
    found = rb.triggers.get(grounds or "")
    if found is None or found.reapply_bar is None:
        return None
    return rb.periods.get(found.reapply_bar)


def skips_objection_window(exit_type: str) -> bool:
    """Graduation, term expiry and voluntary exits have no 陈述申辩 window; forced exits do."""
    return _exit_type(exit_type) != "forced"


def vacate_period(rb: Rulebook, exit_type: str, trigger_code: str | None = None) -> Period:
    """The 腾退 period for an exit: by exit type; a forced exit on a trigger marked
    ``immediate_vacate`` gets ``exit.vacate.forced_immediate``."""
    kind = _exit_type(exit_type)
    names = rb.exit.vacate
    if kind != "forced":
        return rb.periods.get(getattr(names, kind))
    if trigger_code is None:
        raise InvalidInput("grounds", "a forced exit needs its trigger code")
    immediate = trigger(rb, trigger_code).immediate_vacate
    return rb.periods.get(names.forced_immediate if immediate else names.forced)


def clawback_mode(rb: Rulebook, exit_type: str, grounds_code: str | None = None) -> Clawback:
    kind = _exit_type(exit_type)
    if kind == "forced":
        if grounds_code is None:
            raise InvalidInput("grounds", "a forced exit needs its trigger code")
        return trigger(rb, grounds_code).clawback
    mode: Clawback = getattr(rb.exit.clawback, kind)
    return mode


@dataclass(frozen=True)
class Benefit:
    """A benefit recorded for the firm (rent-free months, a subsidy) with its amount in 元 and
    the months it commits the firm to stay (0: no commitment)."""

    kind: str
    amount_yuan: Decimal | int
    granted_on: date
    commitment_months: int = 0


@dataclass(frozen=True)
class SettlementDecision:
    """All amounts in 元, Decimal, rounded half-up to 0.01. ``refund_yuan`` is paid to the
    firm, ``due_yuan`` is owed by it; at most one of them is non-zero."""

    deposit_forfeited: bool
    prepaid_rent_forfeited: bool
    deductions_yuan: Decimal
    clawback_mode: Clawback
    clawback_yuan: Decimal
    clawback_items: tuple[tuple[str, Decimal], ...]
    refund_yuan: Decimal
    due_yuan: Decimal
    trace: Trace

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe (amounts as exact decimal strings), trace included."""
        return {
            "deposit_forfeited": self.deposit_forfeited,
            "prepaid_rent_forfeited": self.prepaid_rent_forfeited,
            "deductions_yuan": str(self.deductions_yuan),
            "clawback_mode": self.clawback_mode,
            "clawback_yuan": str(self.clawback_yuan),
            "clawback_items": [[kind, str(amount)] for kind, amount in self.clawback_items],
            "refund_yuan": str(self.refund_yuan),
            "due_yuan": str(self.due_yuan),
            "rulebook_version": self.trace.rulebook_version,
            "trace": self.trace.to_dict(),
        }


def _money(value: object, field: str) -> Decimal:
    amount = to_decimal(value, field)
    if amount < 0:
        raise InvalidInput(field, "must not be negative", value)
    return amount


def _benefit(rb: Rulebook, index: int, raw: Benefit | Sequence[Any]) -> Benefit:
    return check_benefit(rb, raw, f"benefits[{index}]")


#: The longest commitment a benefit binds a firm to, in months (50 years; more is a slip).
MAX_COMMITMENT_MONTHS = 600


def check_benefit(rb: Rulebook, raw: Benefit | Sequence[Any], field: str = "benefit") -> Benefit:
    """A benefit the rulebook knows (``after_exit.benefit_kinds``), with an amount and a
    commitment that are not negative; :class:`InvalidInput` names ``<field>.<part>``."""
    item = raw if isinstance(raw, Benefit) else Benefit(*raw)
    kinds = [k.code for k in rb.after_exit.benefit_kinds]
    if item.kind not in kinds:
        raise InvalidInput(f"{field}.kind", f"must be one of {', '.join(kinds)}", item.kind)
    if isinstance(item.commitment_months, bool) or item.commitment_months < 0:
        raise InvalidInput(
            f"{field}.commitment_months", "must not be negative", item.commitment_months
        )
    if item.commitment_months > MAX_COMMITMENT_MONTHS:
        raise InvalidInput(
            f"{field}.commitment_months",
            f"不得超过 {MAX_COMMITMENT_MONTHS} 个月 / at most {MAX_COMMITMENT_MONTHS} months",
            item.commitment_months,
        )
    _money(item.amount_yuan, f"{field}.amount_yuan")
    return item


def _recovered(mode: Clawback, item: Benefit, exit_on: date) -> tuple[Decimal, dict[str, Any]]:
    amount = to_decimal(item.amount_yuan, "amount_yuan")
    if mode == "full":
        return amount, {}
    if mode == "none" or item.commitment_months == 0:
        return ZERO, {}
    end = add_months(item.granted_on, item.commitment_months)
    total = (end - item.granted_on).days
    remaining = max(0, min(total, (end - exit_on).days))
    return quantize(amount * remaining / total), {
        "commitment_ends": end,
        "days_remaining": remaining,
        "days_committed": total,
    }


def settlement(
    rb: Rulebook,
    *,
    exit_type: str,
    approved: bool = True,
    deposit_yuan: object = 0,
    arrears_yuan: object = 0,
    damage_yuan: object = 0,
    prepaid_rent_yuan: object = 0,
    benefits: Sequence[Benefit | Sequence[Any]] = (),
    exit_on: date,
    grounds_code: str | None = None,
    never_moved_in: bool = False,
) -> SettlementDecision:
    """Settle an exit: deposit and prepaid rent refunded or forfeited, arrears and damage
    deducted (those listed in ``after_exit.deposit_deductions``; others are owed on top),
    benefits clawed back (in full, pro rata for the unserved part of a commitment, or not)."""
    kind = _exit_type(exit_type)
    deposit = _money(deposit_yuan, "deposit_yuan")
    prepaid = _money(prepaid_rent_yuan, "prepaid_rent_yuan")
    charges = {
        "arrears": _money(arrears_yuan, "arrears_yuan"),
        "damage": _money(damage_yuan, "damage_yuan"),
    }
    items = [_benefit(rb, i, b) for i, b in enumerate(benefits)]
    mode = clawback_mode(rb, kind, grounds_code)
    unapproved = kind == "voluntary" and not approved
    voluntary = rb.exit.voluntary
    kept = voluntary.forfeit_without_approval if unapproved else ()
    if kind == "voluntary" and approved:
        refunded = voluntary.refund_with_approval
        kept = tuple(x for x in ("deposit", "prepaid_rent") if x not in refunded)
    deposit_forfeited = "deposit" in kept or (
        never_moved_in and "never_moved_in" in rb.after_exit.deposit_forfeit_when
    )
    prepaid_forfeited = "prepaid_rent" in kept
    trace = Trace("exit.settlement", rb.version)
    trace = trace.add(
        TraceStep(
            "exit.settlement.forfeiture",
            "押金及预付租金没收",
            "Deposit and prepaid rent forfeiture",
            {
                "exit_type": kind,
                "approved": approved,
                "never_moved_in": never_moved_in,
                "deposit_yuan": deposit,
                "prepaid_rent_yuan": prepaid,
            },
            {
                "forfeit_without_approval": list(voluntary.forfeit_without_approval),
                "deposit_forfeit_when": list(rb.after_exit.deposit_forfeit_when),
            },
            {"deposit": deposit_forfeited, "prepaid_rent": prepaid_forfeited},
        )
    )
    deductible = sum((charges[c] for c in rb.after_exit.deposit_deductions), ZERO)
    owed_besides = sum(charges.values(), ZERO) - deductible
    clawed: list[tuple[str, Decimal]] = []
    for index, item in enumerate(items):
        amount, extra = _recovered(mode, item, exit_on)
        clawed.append((item.kind, amount))
        trace = trace.add(
            TraceStep(
                f"exit.clawback.{item.kind}",
                "优惠政策追回",
                "Benefit clawed back",
                {
                    "index": index,
                    "amount_yuan": item.amount_yuan,
                    "granted_on": item.granted_on,
                    "commitment_months": item.commitment_months,
                    "exit_on": exit_on,
                    **extra,
                },
                {"mode": mode, "grounds": grounds_code},
                amount,
            )
        )
    clawback = sum((a for _, a in clawed), ZERO)
    pool = (ZERO if deposit_forfeited else deposit) + (ZERO if prepaid_forfeited else prepaid)
    balance = pool - deductible - owed_besides - clawback
    refund, due = quantize(max(balance, ZERO)), quantize(max(-balance, ZERO))
    trace = trace.add(
        TraceStep(
            "exit.settlement.balance",
            "结算",
            "Settlement",
            {
                "refundable_yuan": pool,
                "deducted_yuan": deductible,
                "owed_besides_yuan": owed_besides,
                "clawback_yuan": clawback,
                **{f"{k}_yuan": v for k, v in charges.items()},
            },
            {"deposit_deductions": list(rb.after_exit.deposit_deductions)},
            {"refund_yuan": refund, "due_yuan": due},
        )
    )
    return SettlementDecision(
        deposit_forfeited,
        prepaid_forfeited,
        quantize(deductible),
        mode,
        quantize(clawback),
        tuple(clawed),
        refund,
        due,
        trace,
    )


# --- aliases under the names the workflows first used ---------------------------------------

exit_trigger = trigger
cure_period = handling_period


def settle(rb: Rulebook, *, grounds: str | None = None, **kwargs: Any) -> SettlementDecision:
    """:func:`settlement` with the forced-exit trigger passed as ``grounds``."""
    return settlement(rb, grounds_code=grounds, **kwargs)
