"""The layout's rules, read from the code's imports: Slack stays at the edge, listeners reach the
database only through the domain, storage depends on nothing above it, and the labeling path stays
cheap to import."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SLACK = ("slack_bolt", "slack_sdk", "bot.slack")
# The edges that wire Slack in; the sandbox runs the bot against the Slack emulator, as serve does
# against Slack.
WIRING = {"bot/cli.py", "bot/serve.py"} | {
    f"bot/sandbox/{p.name}" for p in (ROOT / "bot" / "sandbox").glob("*.py")
}
BOLT_COMPAT = "bot/slack/bolt_compat.py"


def modules(*folders: str) -> list[Path]:
    return sorted(
        p for folder in folders for p in (ROOT / folder).rglob("*.py") if "migrations" not in p.parts
    )


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth of the file (absolute names)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.level:  # relative: only the emulator's own modules use them
                package = ".".join(path.relative_to(ROOT).with_suffix("").parts[: -node.level])
                names.add(f"{package}.{node.module}")
            else:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_the_walk_sees_imports_at_any_depth(tmp_path):
    sample = ROOT / "bot" / "slack" / "app.py"
    assert "slack_bolt" in imported(sample) and "bot.slack.runtime.Runtime" in imported(sample)
    nested = tmp_path / "x.py"
    nested.write_text("def f():\n    from slack_sdk import WebClient\n")
    assert any(within(n, SLACK) for n in imported(nested))


def test_only_the_edge_speaks_slack():
    offenders = {
        rel(path): sorted(n for n in imported(path) if within(n, SLACK))
        for path in modules("bot", "storage")
        if not rel(path).startswith("bot/slack/") and rel(path) not in WIRING
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_listeners_import_no_storage_module():
    offenders = {
        rel(p): sorted(n for n in imported(p) if within(n, ("storage",)))
        for p in modules("bot/slack/listeners")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_storage_depends_on_nothing_above_it():
    offenders = {rel(p): sorted(n for n in imported(p) if within(n, ("bot",))) for p in modules("storage")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_bolt_internals_are_imported_in_one_place():
    """Bolt's adapter helpers and ``internals`` modules are not public API: one module uses them."""
    private = (
        "slack_bolt.request.internals",
        "slack_bolt.adapter.starlette.handler",
        "slack_bolt.adapter.socket_mode",
    )
    users = {
        rel(p)
        for p in modules("bot", "storage", "benchmarks")
        if any(within(n, private) for n in imported(p))
    }
    assert users == {BOLT_COMPAT}


@pytest.mark.parametrize("module", ["bot.labeling", "bot.slack.listeners.labels"])
def test_the_labeling_path_does_not_load_the_heavy_libraries(module):
    code = (
        f"import sys, {module}; "
        "print(' '.join(m for m in ('sklearn', 'scipy', 'matplotlib') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == ""
