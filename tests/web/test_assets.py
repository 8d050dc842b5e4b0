"""The vendored front-end files are the ones the registry published, and no page or style
refers to another host (nothing is loaded from a CDN)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from entrypoints.web import STATIC

VENDOR = STATIC / "vendor"
TEMPLATES = STATIC.parent / "templates"


def test_each_vendored_file_matches_its_recorded_hash_and_has_its_licence() -> None:
    readme = (VENDOR / "README.md").read_text(encoding="utf-8")
    files = sorted(VENDOR.glob("*/*.js"))
    assert files
    for path in files:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert digest in readme, f"{path.name} differs from the recorded build"
        assert (path.parent / "LICENSE").exists(), f"{path.parent.name} has no licence"


def test_no_template_or_stylesheet_loads_from_another_host() -> None:
    external = re.compile(r"""(src|href)\s*=\s*["'](https?:)?//""", re.IGNORECASE)
    for path in [*TEMPLATES.rglob("*.html"), *Path(STATIC).glob("*.css")]:
        text = path.read_text(encoding="utf-8")
        assert not external.search(text), path
        assert "url(http" not in text, path
