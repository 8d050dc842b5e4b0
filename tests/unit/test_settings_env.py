"""Settings from the environment (``Settings.from_env``): ``INNOSPACE_<FIELD>`` in any case,
validated as text; a bad value names its field; the rest keep their defaults."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from entrypoints.settings import DEFAULT_DB, Settings


def test_unset_variables_keep_the_defaults_and_others_are_ignored() -> None:
    settings = Settings.from_env({"HOME": "/root", "INNOSPACE_UNKNOWN": "x"})
    assert settings == Settings()
    assert settings.database_url == DEFAULT_DB and settings.now is None


def test_values_are_read_as_text_in_any_case_of_the_name() -> None:
    settings = Settings.from_env(
        {
            "innospace_database_url": "x.db",
            "INNOSPACE_NOW": "2024-03-04T09:00+08:00",
            "INNOSPACE_SMTP_PORT": "587",
            "INNOSPACE_SMTP_ALLOW_PLAINTEXT_AUTH": "yes",
            "INNOSPACE_SMTP_MODE": "starttls",
        }
    )
    assert settings.database_url == "x.db"
    assert settings.now == datetime(2024, 3, 4, 1, 0, tzinfo=UTC)
    assert (settings.smtp_port, settings.smtp_allow_plaintext_auth) == (587, True)
    assert settings.smtp_mode == "starttls"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("smtp_port", "abc"),
        ("smtp_mode", "SSL"),
        ("sweep_interval_seconds", "0"),
        ("now", ""),
        ("locale", "fr"),
        ("smtp_allow_plaintext_auth", "maybe"),
    ],
)
def test_a_bad_value_names_its_field(name: str, value: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Settings.from_env({f"INNOSPACE_{name.upper()}": value})
    assert raised.value.errors()[0]["loc"] == (name,)
