"""Buttons that open a modal: Guidelines, Show full text, Escalate, Decide with a note, Send back.

Each is acknowledged at once; the lazy half reads what the modal shows, checks who may open it,
and calls ``views.open`` with the click's trigger (valid for three seconds). A refusal is an
ephemeral notice instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext, Respond
from slack_sdk import WebClient

from bot import escalation, queue
from bot.authorization import Permit, Refusal
from bot.config import ProjectConfig
from bot.guidelines import recent_edge_cases
from bot.items import NotFound, get_item
from bot.refs import ItemRef
from bot.slack import ids
from bot.slack.blocks.escalation import decide_modal, escalate_modal, send_back_modal
from bot.slack.blocks.modals import full_text_modal, guidelines_modal
from bot.slack.listeners.routes import Reply, Route, ack_only, runtime
from bot.slack.payload import action_number, action_ref, click
from bot.slack.runtime import Runtime

__all__ = ["ROUTES"]

Check = Callable[[ProjectConfig, str], Permit | Refusal]


def _permitted(
    rt: Runtime,
    action: dict[str, Any],
    check: Check,
    client: WebClient,
    respond: Respond,
    context: BoltContext,
) -> tuple[ItemRef, Permit] | None:
    """The clicked item and the clicker's permit; None when the item is gone (nothing to say) or the
    clicker is refused (told privately)."""
    ref = action_ref(action)
    project = rt.project_of(ref.item_id) if ref else None
    if ref is None or project is None:
        return None
    permit = check(project, context.user_id or "")
    if isinstance(permit, Refusal):
        Reply(ephemeral=permit.reason).send(client, respond)
        return None
    return ref, permit


def open_guidelines(
    body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext
) -> None:
    rt = runtime(context)
    asked = _permitted(rt, action, rt.authorizer.view, client, respond, context)
    if asked is None:
        return
    project = asked[1].project
    with rt.read() as session:
        cases = recent_edge_cases(session, project.key)
    client.views_open(trigger_id=body["trigger_id"], view=guidelines_modal(project, cases))


def open_full_text(
    body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext
) -> None:
    rt = runtime(context)
    asked = _permitted(rt, action, rt.authorizer.view, client, respond, context)
    if asked is None:
        return
    ref = asked[0]
    try:
        with rt.read() as session:
            item = get_item(session, ref.item_id)
            project = rt.projects.of(session, ref.item_id)
            external_id, text = item.external_id, item.text
    except NotFound:
        return
    if project is not None:
        client.views_open(trigger_id=body["trigger_id"], view=full_text_modal(project, external_id, text))


def open_escalate(
    body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext
) -> None:
    rt = runtime(context)
    asked = _permitted(rt, action, rt.authorizer.escalate, client, respond, context)
    if asked is None:
        return
    ref, project = asked[0], asked[1].project
    where = click(body, action)
    try:
        with rt.write() as session:
            queue.open_from_click(session, ref.item_id, ref.round, where, project.channel)
            item = get_item(session, ref.item_id)
            why = escalation.why_not_escalable(session, item, ref, where, context.user_id or "")
            external_id = item.external_id
    except NotFound:
        return
    if why is not None:
        Reply(ephemeral=why).send(client, respond)
        return
    # The modal's submission is ordered by this click's time: it travels in private_metadata.
    metadata = ref.encode() + (f"@{action['action_ts']}" if where.at else "")
    client.views_open(trigger_id=body["trigger_id"], view=escalate_modal(project, metadata, external_id))


def open_decision(
    body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext
) -> None:
    """Decide with a note, or Send back: both modals need the same permit."""
    rt, escalation_id = runtime(context), action_number(action)
    permit = rt.permit_decision(escalation_id, context.user_id or "") if escalation_id is not None else None
    if permit is None or escalation_id is None:
        return
    if isinstance(permit, Refusal):
        Reply(ephemeral=permit.reason).send(client, respond)
        return
    build = decide_modal if action.get("action_id") == ids.DECIDE_NOTE else send_back_modal
    client.views_open(trigger_id=body["trigger_id"], view=build(permit.project, escalation_id))


ROUTES = [
    Route("action", ids.GUIDELINES, ack_only, (open_guidelines,), decides="authorization.Authorizer.view"),
    Route("action", ids.FULL_TEXT, ack_only, (open_full_text,), decides="authorization.Authorizer.view"),
    Route("action", ids.ESCALATE, ack_only, (open_escalate,), decides="escalation.why_not_escalable"),
    Route("action", ids.DECIDE_NOTE, ack_only, (open_decision,), decides="authorization.Authorizer.decide"),
    Route("action", ids.SEND_BACK, ack_only, (open_decision,), decides="authorization.Authorizer.decide"),
]
