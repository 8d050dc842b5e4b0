"""The pure domain of innospace: lifecycle table, machine, rulebook, calendar, audit, errors.

Nothing here does I/O or reads the clock; ``tests/unit/test_domain_purity.py`` keeps it so.
"""
