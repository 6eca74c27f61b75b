"""The README says what the code does: its test command is CI's, and its architecture table is the
listeners the app registers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bot.slack.listeners import ROUTES, register

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
KINDS = {
    "action": "action",
    "view": "view submission",
    "command": "slash command",
    "event": "event",
    "shortcut": "shortcut",
}


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


def cli_reference() -> dict[str, tuple[set[str], set[str]]]:
    """The README's CLI table: command → (its arguments, its options), from each row's first cell."""
    section = README.split("## CLI reference", 1)[1].split("**Exit codes**", 1)[0]
    commands: dict[str, tuple[set[str], set[str]]] = {}
    for row in (line for line in section.splitlines() if line.startswith("| `labelbot ")):
        usage = row.strip("|").split(" | ", 1)[0].replace("\\|", "/")
        for spec in re.findall(r"`labelbot ([^`]+)`", usage):
            words = spec.split()
            path = []
            while words and re.fullmatch(r"[a-z][a-z-]*", words[0]):
                path.append(words.pop(0))
            arguments, options = set(), set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*|-[a-z])\b", spec))
            for word in words:
                if word.startswith(("-", "[-")):
                    break
                arguments.add(word.strip("[]"))
            commands[" ".join(path)] = (arguments, options)
    return commands


def cli_commands() -> dict[str, tuple[set[str], set[str]]]:
    """The CLI's own commands, arguments (as the README spells them, upper case) and options."""
    import click
    import typer.main

    from bot.cli import app

    root = typer.main.get_command(app)
    found: dict[str, tuple[set[str], set[str]]] = {}

    def walk(command: Any, path: list[str]) -> None:
        if hasattr(command, "list_commands"):  # a group
            ctx = click.Context(command)
            for name in command.list_commands(ctx):
                walk(command.get_command(ctx, name), [*path, name])
            return
        arguments = {p.name.upper() for p in command.params if p.param_type_name == "argument" and p.name}
        # An option the README may name by its short or its long form (``-o``, ``--output``).
        named = cli_reference().get(" ".join(path), (set(), set()))[1]
        options = set()
        for param in command.params:
            if param.param_type_name == "option" and "--help" not in param.opts:
                forms = [o for o in param.opts if o in named]
                options.add(forms[0] if forms else param.opts[-1])
        found[" ".join(path)] = (arguments, options)

    walk(root, [])
    return found


def test_the_cli_reference_is_the_cli():
    """Every command has its row; each row names exactly the command's arguments and options."""
    assert cli_reference() == cli_commands()


def test_the_exit_code_table_is_bot_exits():
    from bot.exits import ExitCode

    section = README.split("**Exit codes**", 1)[1].split("\n\n", 2)[1]
    codes = [int(line.split("|")[1]) for line in section.splitlines() if re.match(r"\| \d ", line)]
    assert codes == [int(code) for code in ExitCode]


def _roles_section() -> str:
    return README.split("## Roles: who may do what", 1)[1].split("\n## ", 1)[0]


def _rows(section: str, header: str) -> list[list[str]]:
    table = section.split(header, 1)[1].split("\n\n", 1)[0]
    return [
        [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        for line in table.splitlines()[2:]
        if line.startswith("| ")
    ]


def test_the_roles_table_is_authorization_roles():
    from bot.authorization import ROLES

    rows = _rows(_roles_section(), "| role | who |")
    assert {role: who for role, who in rows} == ROLES
    assert [role for role, _ in rows] == list(ROLES)


def test_the_actions_table_is_authorization_rules():
    """One row per action, in the order of ``Action``, naming exactly the roles ``RULES`` allows."""
    from bot.authorization import ROLES, RULES, Action

    rows = _rows(_roles_section(), "| action | what, from where | who may |")
    assert [row[0].strip("`") for row in rows] == [str(a) for a in Action]
    for action, _, who in rows:
        assert tuple(who.split(", ")) == RULES[Action(action.strip("`"))], action
    assert {role for roles in RULES.values() for role in roles} == set(ROLES)
