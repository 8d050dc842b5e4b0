"""Entry points: CLI, HTTP, scheduler. Thin: parse input, call one handler, map errors."""
