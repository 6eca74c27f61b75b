"""Modal submissions: escalate an item, decide with a note, send back for relabeling.

Invalid input is answered in the modal itself (``response_action: errors``) and records
nothing; what is recorded is committed before the ack, and messages are updated after it.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot import escalation
from bot.authorization import REASONS, Action, Refusal
from bot.refs import Click, ItemRef
from bot.slack import ids
from bot.slack.blocks.escalation import NOTE_MAX, decision_done
from bot.slack.blocks.item import item_message
from bot.slack.listeners.decisions import decide_now
from bot.slack.listeners.routes import Reply, Route, Update, runtime
from bot.slack.payload import row_id, slack_time, view_value

__all__ = ["ROUTES"]

BROKEN = "This form is broken; open it again from the item."


def _text(view: dict[str, Any], block: str) -> str:
    value = view_value(view, block)
    return value.strip() if isinstance(value, str) else ""


def _plain(message: str) -> str:
    """A notice as a modal's field error (plain text: no emoji code, no bold)."""
    return message.removeprefix(":no_entry: ").replace("*", "")


def submit_escalate(ack: Ack, view: dict[str, Any], context: BoltContext) -> None:
    rt = runtime(context)
    metadata = view.get("private_metadata")
    ref_text, _, action_ts = metadata.partition("@") if isinstance(metadata, str) else ("", "", "")
    ref, opened = ItemRef.decode(ref_text), Click(at=slack_time(action_ts))
    reason = _text(view, "reason")
    chosen = view_value(view, "suggested")
    suggested = chosen if isinstance(chosen, str) and chosen else None
    if ref is None:
        ack(response_action="errors", errors={"reason": BROKEN})
        return
    errors: dict[str, str] = {}
    if not reason:
        errors["reason"] = "Say why this item needs an expert."
    elif len(reason) > NOTE_MAX:
        errors["reason"] = f"Keep the reason under {NOTE_MAX} characters."
    project = rt.project_of(ref.item_id)
    if project is None:
        errors["reason"] = "This item's project is no longer configured."
    else:
        permit = rt.authorizer.escalate(project, context.user_id or "")
        if isinstance(permit, Refusal):
            errors["reason"] = _plain(permit.reason)
        elif not errors:
            with rt.write() as session:
                result = escalation.escalate(session, permit, ref, reason, suggested, click=opened)
            if result.refused is not None:
                errors[result.field] = result.refused
    if errors:
        ack(response_action="errors", errors=errors)
        return
    ack()
    rt.wake_dispatcher()


def submit_decision(ack: Ack, view: dict[str, Any], context: BoltContext) -> None:
    chosen = view_value(view, "label")
    label = chosen if isinstance(chosen, str) else None
    note = _text(view, "note")
    edge = "edge_case" in (view_value(view, "edge_case") or [])
    escalation_id = row_id(view.get("private_metadata"))
    errors = {}
    if not label:
        errors["label"] = "Choose the label."
    if not note:
        errors["note"] = "Write a note: it explains the decision to the annotators."
    if escalation_id is None:
        errors["label"] = "This form is broken; open it again from the thread."
    if errors or escalation_id is None:
        ack(response_action="errors", errors=errors)
        return
    rt = runtime(context)
    reply = decide_now(rt, escalation_id, context.user_id or "", str(label), note=note, edge_case=edge)
    if reply.ephemeral is not None:
        ack(response_action="errors", errors={"label": _plain(reply.ephemeral)})
        return
    context["reply"] = reply
    ack()
    rt.wake_dispatcher()


def submit_send_back(ack: Ack, view: dict[str, Any], context: BoltContext) -> None:
    rt = runtime(context)
    user = context.user_id or ""
    note = _text(view, "note")
    escalation_id = row_id(view.get("private_metadata"))
    if not note or escalation_id is None:
        ack(response_action="errors", errors={"note": "Write a note for the annotators."})
        return
    permit = rt.permit_decision(escalation_id, user)
    if permit is None or isinstance(permit, Refusal):
        refusal = permit.reason if permit else REASONS[Action.DECIDE]
        ack(response_action="errors", errors={"note": _plain(refusal)})
        return
    project = permit.project
    with rt.write() as session:
        result = escalation.send_back(session, permit, escalation_id, note)
        if not result.won:
            ack(response_action="errors", errors={"note": "Someone already decided this item."})
            return
        channel = result.item.channel or project.channel
        thread, old_ts, old_card = result.escalation.thread_ts, result.old_message_ts, result.old_card
        experts = list(result.escalation.experts or [])
    rt.homes_changed(*experts, *project.experts.admins)  # their App Home lists open escalations
    updates = []
    if thread:
        updates.append(Update(channel, thread, decision_done(project, user, None, note, sent_back=True)))
    if old_ts and old_card is not None:
        updates.append(Update(channel, old_ts, item_message(old_card, project)))
    context["reply"] = Reply(updates=tuple(updates))
    ack()
    rt.wake_dispatcher()


def update_messages(client: WebClient, context: BoltContext) -> None:
    reply: Reply | None = context.get("reply")  # none when the modal answered with errors
    if reply is not None:
        reply.send(client)


ROUTES = [
    Route("view", ids.VIEW_ESCALATE, submit_escalate, decides="escalation.escalate"),
    Route("view", ids.VIEW_DECIDE, submit_decision, (update_messages,), decides="escalation.decide"),
    Route("view", ids.VIEW_SEND_BACK, submit_send_back, (update_messages,), decides="escalation.send_back"),
]
