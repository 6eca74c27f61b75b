"""The ``/label`` slash command: ``next``, ``mine``, ``stats``, ``guidelines``, ``pause``, ``resume``,
``reveal``, ``help``.

Help, an unknown subcommand and wrong arguments are answered in the ack itself (ephemeral to the
caller, no client call). The rest needs the database or Slack, so it is acknowledged at once and
answered after the ack: an ephemeral message through the command's ``response_url``, or the
Guidelines modal with the command's trigger. A project left out is the caller's only one; with
several, they are asked which. Every subcommand about a project asks the authorizer first:
``next`` needs LABEL, ``stats`` and ``guidelines`` VIEW, ``pause`` and ``resume`` ADMIN, ``reveal``
REVEAL (``/label reveal [PROJECT] ITEM``: the item's id as imported, or ``#N`` for labelbot's own).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot import admin
from bot.authorization import Action, Permit, Refusal
from bot.config import ProjectConfig
from bot.guidelines import recent_edge_cases
from bot.home import administered, labelable, week_figures
from bot.slack.blocks.help import help_message
from bot.slack.blocks.home import mine_message
from bot.slack.blocks.item import notice
from bot.slack.blocks.modals import guidelines_modal
from bot.slack.blocks.reveal import reveal_message
from bot.slack.blocks.text import escape
from bot.slack.home import set_paused
from bot.slack.listeners import sessions
from bot.slack.listeners.routes import Route, runtime
from bot.slack.runtime import Runtime

__all__ = ["ROUTES", "LabelCommand", "parse"]

TAKES_PROJECT = ("next", "stats", "guidelines", "pause", "resume")
TAKES_ITEM = ("reveal",)
NO_ARGUMENT = ("help", "mine")
#: What each subcommand about a project needs (``bot.authorization.RULES`` says who may).
NEEDS = {
    "next": Action.LABEL,
    "stats": Action.VIEW,
    "guidelines": Action.VIEW,
    "pause": Action.ADMIN,
    "resume": Action.ADMIN,
    "reveal": Action.REVEAL,
}
NONE_OF_YOURS = {
    Action.LABEL: ":no_entry: You are not one of the annotators of any project.",
    Action.VIEW: ":no_entry: You are not an annotator, expert or admin of any project.",
    Action.ADMIN: ":no_entry: Only a project's admins can pause or resume it, and you administer none.",
    Action.REVEAL: ":no_entry: Only a project's admins can reveal an item's text, and you administer none.",
}


@dataclass(frozen=True)
class LabelCommand:
    sub: str  # "help" when the text is empty
    key: str | None = None  # the project named, if any
    unknown: str | None = None  # a subcommand labelbot does not know
    problem: str | None = None  # wrong arguments (mrkdwn, escaped)
    item: str | None = None  # ``reveal``: the item named


def parse(text: object) -> LabelCommand:
    words = str(text or "").split()
    if not words:
        return LabelCommand("help")
    sub, args = words[0].lower(), words[1:]
    if sub not in TAKES_PROJECT + TAKES_ITEM + NO_ARGUMENT:
        return LabelCommand("help", unknown=words[0])
    if sub in TAKES_ITEM:
        if not 1 <= len(args) <= 2:
            problem = f"`/label {sub}` takes an item, after a project key if you like."
            return LabelCommand(sub, problem=problem)
        return LabelCommand(sub, args[0] if len(args) == 2 else None, item=args[-1])
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
    elif parsed.sub == "reveal":
        respond(**_reveal(rt, user, project, parsed.item or ""), response_type="ephemeral")
    else:
        text = set_paused(rt, user, project, parsed.sub == "pause")
        rt.homes_changed(user)
        respond(**notice(text), response_type="ephemeral")


def _reveal(rt: Runtime, user: str, project: ProjectConfig, item: str) -> dict[str, Any]:
    """The item's original text for an admin, recorded before it is shown; or why not."""
    permit = rt.authorizer.reveal(project, user)  # a group lookup: before the write transaction
    if isinstance(permit, Refusal):
        return notice(permit.reason)
    with rt.write() as session:
        revealed = admin.reveal(session, permit, item, datetime.now(UTC))
    if revealed is None:
        return notice(
            f"No item `{escape(item[:100])}` in *{escape(project.name)}*: give the item's id as imported "
            "(as its message shows it), or `#N` for labelbot's own number."
        )
    return reveal_message(project.key, project.name, revealed.external_id, revealed.text)


def _choose(rt: Runtime, user: str, parsed: LabelCommand) -> ProjectConfig | str | None:
    """The project the command is about, or what to tell the user (mrkdwn, escaped); None for
    ``next`` without a project when the user labels several (the session picks one with work)."""
    config, sub, action = rt.config, parsed.sub, NEEDS[parsed.sub]
    if parsed.key is not None:
        project = next((p for p in config.projects if p.key == parsed.key), None)
        if project is None:
            return f"No project `{escape(parsed.key[:50])}`. Projects: {_keys(config.projects)}"
        permit = _permit(rt, action, project, user)
        return permit.reason if isinstance(permit, Refusal) else project
    if sub == "next":
        mine = labelable(config, rt.authorizer, user)
    elif action == Action.ADMIN:
        mine = administered(config, rt.authorizer, user)
    else:
        mine = [p for p in config.projects if isinstance(_permit(rt, action, p, user), Permit)]
    if not mine:
        return NONE_OF_YOURS[action]
    if len(mine) == 1:
        return mine[0]
    if sub == "next":
        return None
    usage = f"/label {sub} PROJECT" + (" ITEM" if sub in TAKES_ITEM else "")
    return f"Which project? `{usage}`, with one of: {_keys(mine)}"


def _permit(rt: Runtime, action: Action, project: ProjectConfig, user: str) -> Permit | Refusal:
    check = {
        Action.LABEL: rt.authorizer.label,
        Action.VIEW: rt.authorizer.view,
        Action.ADMIN: rt.authorizer.admin,
        Action.REVEAL: rt.authorizer.reveal,
    }[action]
    return check(project, user)


def _keys(projects: Sequence[ProjectConfig]) -> str:
    return ", ".join(f"`{escape(p.key)}` ({escape(p.name)})" for p in projects)


ROUTES = [Route("command", "/label", label_command, (run_command,), decides="reports.build_report")]
