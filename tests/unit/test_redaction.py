"""``redact_passwords``: a password in a URL is hidden even once a path has folded its "//", and a
long line is scanned once (no quadratic rescans)."""

from __future__ import annotations

import time

from db.engine import redact_passwords


def test_a_url_with_one_slash_is_redacted_too() -> None:
    assert redact_passwords("got 'postgresql:/u:secret@h/db'") == "got 'postgresql:/u:***@h/db'"
    refused = "at postgresql://u:p@ss@h/d: refused"
    assert redact_passwords(refused) == "at postgresql://u:***@h/d: refused"
    assert redact_passwords("sqlite:///a:b and C:/x") == "sqlite:///a:b and C:/x"


def test_a_long_line_of_near_urls_is_redacted_in_linear_time() -> None:
    started = time.perf_counter()
    for line in ("a://b:" * 40_000, "a:/b:" * 40_000, "a:/" * 70_000):
        assert redact_passwords(line) == line
    assert time.perf_counter() - started < 10  # quadratic: minutes
