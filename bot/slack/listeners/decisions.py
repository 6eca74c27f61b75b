"""Experts' decision buttons in an escalation thread: one per label.

The decision is recorded before the ack; the first decision wins (``bot.escalation.decide``).
After the ack the thread post is updated (the buttons removed), or the loser is told who
decided what. The decide modal (``submissions``) records decisions through :func:`decide_now`.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot import escalation
from bot.authorization import Refusal
from bot.slack import ids
from bot.slack.blocks.escalation import already_decided, decision_done
from bot.slack.listeners.routes import Reply, Route, Update, runtime
from bot.slack.payload import action_number
from bot.slack.runtime import Runtime

__all__ = ["GONE", "ROUTES", "decide_now"]

GONE = "This escalation no longer exists."


def decide_click(ack: Ack, action: dict[str, Any], context: BoltContext) -> None:
    label = str(action.get("action_id", "")).removeprefix(ids.DECIDE_PREFIX)
    rt, escalation_id = runtime(context), action_number(action)
    if escalation_id is None:
        context["reply"] = Reply(ephemeral=GONE)
    else:
        context["reply"] = decide_now(
            rt, escalation_id, context.user_id or "", label, note=None, edge_case=False
        )
    ack()
    rt.wake_dispatcher()


def send_decision(client: WebClient, respond: Respond, context: BoltContext) -> None:
    reply: Reply | None = context.get("reply")  # none when the ack refused (nothing to send)
    if reply is not None:
        reply.send(client, respond)


def decide_now(
    rt: Runtime, escalation_id: int, user: str, label: str, *, note: str | None, edge_case: bool
) -> Reply:
    """Decide an escalation for ``user``: the thread update when this decision won, else what to
    tell the user (refused, or someone decided first)."""
    permit = rt.permit_decision(escalation_id, user)
    if permit is None:
        return Reply(ephemeral=GONE)
    if isinstance(permit, Refusal):
        return Reply(ephemeral=permit.reason)
    project = permit.project
    if project.label(label) is None:
        return Reply(ephemeral="That label is not one of this project's labels.")
    with rt.write() as session:
        result = escalation.decide(session, permit, escalation_id, label, note=note, edge_case=edge_case)
        esc = result.escalation
        if not result.won:
            return Reply(ephemeral=already_decided(project, esc.status, esc.decided_by, esc.decided_label))
        channel = result.item.channel or project.channel
        thread, experts = esc.thread_ts, list(esc.experts or [])
    rt.homes_changed(*experts, *project.experts.admins)  # their App Home lists open escalations
    if not thread:
        return Reply()
    return Reply(updates=(Update(channel, thread, decision_done(project, user, label, note)),))


ROUTES = [
    Route("action", ids.DECIDE, decide_click, (send_decision,), decides="escalation.decide"),
]
