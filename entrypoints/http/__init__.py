"""The HTTP API (FastAPI): ``create_app(app)`` builds it over a bootstrapped App."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from entrypoints.bootstrap import App

__all__ = ["create_app"]


def create_app(app: App, *, secret_key: str | None = None) -> FastAPI:
    from entrypoints.http.app import create_app as build

    return build(app, secret_key=secret_key)
