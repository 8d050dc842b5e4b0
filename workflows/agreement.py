"""The agreement: signing lets units for a term and starts residency.

The handler loads the application, the firm, the units asked for and who holds them, and
lets :func:`workflows.admittance.sign` decide.
"""

from __future__ import annotations

from workflows import admittance, rules
from workflows.admission import application_of
from workflows.commands import Sign
from workflows.core import Step, Work


def sign(w: Work, cmd: Sign) -> Step:
    tenancy = w.load(cmd, "sign")
    admissions = w.uow.admissions
    units = admissions.units(tenancy.space_id, cmd.units)
    let_to = admissions.overlapping_lets(
        [u.id for u in units.values()], cmd.term_start, cmd.term_end
    )
    return rules.decide(
        w,
        tenancy,
        admittance.sign,
        application=application_of(w, tenancy.id),
        firm=w.firm(tenancy.firm_id),
        units=units,
        let_to=let_to,
        lease=cmd,
        by=cmd,
    )
