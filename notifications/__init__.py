"""Notifications: the message catalog, Jinja2 rendering, the outbox relay and its channels.

Public names are re-exported here; the modules behind them are small and private-ish:

    catalog     message keys -> audiences, templates, legal-notice flag, required context, samples
    formatting  Jinja2 filters for Chinese conventions (dates, yuan, grades, labels)
    render      Renderer (cached file templates, sandboxed overrides), RenderedMessage
    overrides   load/save/validate operator overrides; check_templates, preview (CLI)
    channels    inbox (insert-if-absent, inbox_for) and SMTP (SmtpSettings)
    relay       Relay.run_once: claim -> deliver outside transactions -> mark
    outbox      outbox_list for operators
"""

from notifications.catalog import CATALOG, LEGAL_SECTIONS, MessageSpec, Variant, samples, spec
from notifications.channels import SmtpSettings, inbox_for, message_id
from notifications.outbox import outbox_list
from notifications.overrides import (
    check_templates,
    load_overrides,
    preview,
    save_override,
    validate_override,
)
from notifications.relay import Relay, RelayReport
from notifications.render import Override, RenderedMessage, Renderer

__all__ = [
    "CATALOG",
    "LEGAL_SECTIONS",
    "MessageSpec",
    "Override",
    "Relay",
    "RelayReport",
    "RenderedMessage",
    "Renderer",
    "SmtpSettings",
    "Variant",
    "check_templates",
    "inbox_for",
    "load_overrides",
    "message_id",
    "outbox_list",
    "preview",
    "samples",
    "save_override",
    "spec",
    "validate_override",
]
