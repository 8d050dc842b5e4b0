"""Browser journeys (a package, so its conftest is not the top-level ``conftest`` module
the other tests import from)."""
