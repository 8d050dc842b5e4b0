"""Configuration, read once in the composition root (never at import time)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from entrypoints.dates import EARLIEST_DATE, LATEST_DATE

DEFAULT_DB = "sqlite:///innospace.db"

#: The dates innospace computes with (defined in ``entrypoints.dates``, light for the CLI).
__all__ = ["DEFAULT_DB", "EARLIEST_DATE", "LATEST_DATE", "Settings"]


ENV_PREFIX = "INNOSPACE_"


class Settings(BaseModel):
    """Every field is read from ``INNOSPACE_<FIELD>`` (any case) by :meth:`from_env`, as
    pydantic-settings would, and validated the same way (a text value, lax). A plain model:
    pydantic-settings' sources cost every command about 0.05 s at start (issue 14 item 18)."""

    model_config = ConfigDict(extra="ignore")

    database_url: str = DEFAULT_DB
    # Run as if the clock read this instant (training, what-if, end-to-end tests). Never set
    # in production: every command and sweep would act at that frozen time.
    now: datetime | None = None
    locale: Literal["zh-CN", "en"] = "zh-CN"
    log_level: str = "WARNING"
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_mode: Literal["plain", "starttls", "ssl"] = "plain"
    smtp_username: str | None = None
    smtp_password: str | None = None
    # Log in over an unencrypted connection (mode plain): only for a relay on this host.
    smtp_allow_plaintext_auth: bool = False
    smtp_sender: str = "innospace <noreply@innospace.local>"
    smtp_operators_address: str | None = None
    sweep_interval_seconds: int = Field(default=60, ge=1)
    relay_interval_seconds: int = Field(default=30, ge=1)
    # Audit checkpoints (docs/operations-checkpoints.md): the Ed25519 private key file (0600,
    # outside the database) and the directory the scheduler writes its daily checkpoint to.
    audit_key: str | None = None
    audit_checkpoint_dir: str | None = None
    # Browser sessions (workflows.identity): ended after this long without a request, and
    # this long after login whatever happens (both fixed in the session when it opens).
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_max_hours: int = Field(default=12, ge=1, le=24 * 30)
    # The HTTP API (``innospace serve``): the key that signs session cookies and CSRF tokens
    # (at least 32 characters; unset: ``serve`` keeps a generated one in a 0600 file beside
    # a SQLite database, and refuses to start on PostgreSQL, whose workers must share one).
    secret_key: str | None = Field(default=None, min_length=32)
    # Files firms attach to their answers (陈述申辩, 整改方案), kept outside the database and
    # named by their SHA-256 (``workflows.attachments``). Unset: ``innospace-files`` beside a
    # SQLite database file, else ``./innospace-files``.
    files_dir: str | None = None

    def files_directory(self) -> Path:
        """Where attachments are stored (see ``files_dir``)."""
        if self.files_dir:
            return Path(self.files_dir).expanduser().resolve()
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix):
            location = self.database_url[len(prefix) :].split("?", 1)[0]
            if location and location != ":memory:":
                return Path(location).expanduser().resolve().parent / "innospace-files"
        return Path("innospace-files").resolve()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings ``environ`` (default: this process's environment) gives; a field
        without its variable keeps its default. A bad value is a ``ValidationError`` whose
        ``loc`` is the field."""
        env = os.environ if environ is None else environ
        given = {key.lower(): value for key, value in env.items()}
        prefix = ENV_PREFIX.lower()
        return cls.model_validate(
            {name: given[prefix + name] for name in cls.model_fields if prefix + name in given}
        )
