"""The ``/label`` slash command: ``next``, ``mine``, ``stats``, ``guidelines``, ``pause``, ``resume``,
``help``.

Help, an unknown subcommand and wrong arguments are answered in the ack itself (ephemeral to the
caller, no client call). The rest needs the database or Slack, so it is acknowledged at once and
answered after the ack: an ephemeral message through the command's ``response_url``, or the
Guidelines modal with the command's trigger. A project left out is the caller's only one; with
several, they are asked which.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.authorization import Refusal
from bot.config import ProjectConfig
from bot.guidelines import recent_edge_cases
from bot.home import administered, labelable, week_figures
from bot.slack.blocks.help import help_message
from bot.slack.blocks.home import mine_message
from bot.slack.blocks.item import notice
from bot.slack.blocks.modals import guidelines_modal
from bot.slack.blocks.text import escape
from bot.slack.home import set_paused
from bot.slack.listeners import sessions
from bot.slack.listeners.routes import Route, runtime
from bot.slack.runtime import Runtime

__all__ = ["ROUTES", "LabelCommand", "parse"]

TAKES_PROJECT = ("next", "stats", "guidelines", "pause", "resume")
NO_ARGUMENT = ("help", "mine")


@dataclass(frozen=True)
class LabelCommand:
    sub: str  # "help" when the text is empty
    key: str | None = None  # the project named, if any
    unknown: str | None = None  # a subcommand labelbot does not know
    problem: str | None = None  # wrong arguments (mrkdwn, escaped)


def parse(text: object) -> LabelCommand:
    words = str(text or "").split()
    if not words:
        return LabelCommand("help")
    sub, args = words[0].lower(), words[1:]
    if sub not in TAKES_PROJECT + NO_ARGUMENT:
        return LabelCommand("help", unknown=words[0])
    if sub in NO_ARGUMENT and args:
        return LabelCommand(sub, problem=f"`/label {sub}` takes nothing after it.")
    if len(args) > 1:
        return LabelCommand(sub, problem=f"`/label {sub}` takes one project key at most.")
    return LabelCommand(sub, args[0] if args else None)


def label_command(ack: Ack, command: dict[str, Any], context: BoltContext) -> None:
    parsed = parse(command.get("text"))
    if parsed.sub == "help" or parsed.problem:
        config = runtime(context).config
        ack(response_type="ephemeral", **help_message(config, parsed.unknown, parsed.problem))
    else:
        ack()


def run_command(command: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
    parsed = parse(command.get("text"))
    if parsed.sub == "help" or parsed.problem:
        return  # answered in the ack
    rt, user = runtime(context), context.user_id or str(command.get("user_id", ""))
    if parsed.sub == "mine":
        with rt.read() as session:
            weeks = week_figures(session, rt.config, user, datetime.now(UTC))
        respond(**mine_message(weeks, {p.key: p.name for p in rt.config.projects}), response_type="ephemeral")
        return
    project = _choose(rt, user, parsed)
    if project is None:  # /label next, several projects: the session picks one with work
        respond(**notice(sessions.start_labeling(rt, user, None)), response_type="ephemeral")
    elif isinstance(project, str):
        respond(**notice(project), response_type="ephemeral")
    elif parsed.sub == "guidelines":
        with rt.read() as session:
            cases = recent_edge_cases(session, project.key)
        trigger = str(command.get("trigger_id", ""))
        client.views_open(trigger_id=trigger, view=guidelines_modal(project, cases))
    elif parsed.sub == "stats":
        respond(**rt.digests.stats(project), response_type="ephemeral")
    elif parsed.sub == "next":
        respond(**notice(sessions.start_labeling(rt, user, project.key)), response_type="ephemeral")
    else:
        text = set_paused(rt, user, project, parsed.sub == "pause")
        rt.homes_changed(user)
        respond(**notice(text), response_type="ephemeral")


def _choose(rt: Runtime, user: str, parsed: LabelCommand) -> ProjectConfig | str | None:
    """The project the command is about, or what to tell the user (mrkdwn, escaped); None for
    ``next`` without a project when the user labels several (the session picks one with work)."""
    config, sub = rt.config, parsed.sub
    if parsed.key is not None:
        project = next((p for p in config.projects if p.key == parsed.key), None)
        if project is None:
            return f"No project `{escape(parsed.key[:50])}`. Projects: {_keys(config.projects)}"
        permit = rt.authorizer.label(project, user) if sub == "next" else None
        return permit.reason if isinstance(permit, Refusal) else project
    if sub == "next":
        mine = labelable(config, rt.authorizer, user)
        if not mine:
            return ":no_entry: You are not one of the annotators of any project."
        if len(mine) > 1:
            return None
    elif sub in ("pause", "resume"):
        mine = administered(config, rt.authorizer, user)
        if not mine:
            return ":no_entry: Only a project's admins can pause or resume it, and you administer none."
    else:
        mine = labelable(config, rt.authorizer, user) or list(config.projects)
    if len(mine) == 1:
        return mine[0]
    return f"Which project? `/label {sub} PROJECT`, with one of: {_keys(mine)}"


def _keys(projects: Sequence[ProjectConfig]) -> str:
    return ", ".join(f"`{escape(p.key)}` ({escape(p.name)})" for p in projects)


ROUTES = [Route("command", "/label", label_command, (run_command,), decides="reports.build_report")]
