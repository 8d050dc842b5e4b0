"""CLI commands (ops)."""

from __future__ import annotations
