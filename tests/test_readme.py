"""The README says what the code does: its test command is CI's, and its architecture table is the
listeners the app registers."""

from __future__ import annotations

import re
from pathlib import Path

from bot.slack.listeners import ROUTES, register

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
KINDS = {"action": "action", "view": "view submission", "command": "slash command", "event": "event"}


def test_ci_runs_the_readme_test_command_verbatim():
    quick_start = README.split("## Quick start", 1)[1]
    blocks = re.findall(r"```(?:sh|bash|console)?\n(.*?)```", quick_start, re.S)
    command = blocks[1].strip().splitlines()[-1]
    assert "bash .ci/test" in command
    assert command in (ROOT / ".ci" / "run").read_text().splitlines()


def architecture_table() -> list[tuple[str, ...]]:
    section = README.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    rows = [
        line
        for line in section.splitlines()
        if line.startswith("| ") and not line.startswith("| Slack sends")
    ]
    return [tuple(cell.strip().strip("`") for cell in row.strip("|").split("|")) for row in rows]


def test_the_architecture_table_is_the_routes():
    expected = [(KINDS[r.kind], r.name, r.listener, r.after_ack, r.decides) for r in ROUTES]
    assert architecture_table() == expected


def test_the_app_registers_every_route_once():
    """``register`` hands Bolt each route of the table: its matcher, ack and lazy listeners."""
    calls: list[tuple[str, object, object, tuple[object, ...]]] = []

    class Recorder:
        def __getattr__(self, kind: str):
            def matcher(match):
                def listen(ack=None, lazy=None):
                    calls.append((kind, match, ack, tuple(lazy or ())))

                return listen

            return matcher

    register(Recorder())  # type: ignore[arg-type]
    assert calls == [(r.kind, r.match, r.ack, r.lazy) for r in ROUTES]


def test_every_decider_names_a_real_function():
    import importlib

    for route in ROUTES:
        module, _, name = route.decides.partition(".")
        target = importlib.import_module(f"bot.{module}")
        for part in name.split("."):
            target = getattr(target, part)
        assert callable(target), route.decides
