"""Modal submissions: escalate an item, decide with a note, send back for relabeling.

Invalid input is answered in the modal itself (``response_action: errors``) and
records nothing.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot import escalation
from bot.blocks import ids
from bot.blocks.escalation import decision_done
from bot.blocks.ids import ItemRef
from bot.blocks.item import ItemCard, item_message
from bot.consensus import tally
from bot.items import card_for, get_item
from bot.labeling import current_votes
from bot.listeners.actions import NOT_ALLOWED, NOT_EXPERT, decide_now, expert_check, has_open_escalation
from bot.listeners.payload import user_id, view_value
from bot.runtime import Runtime
from storage.db import session_scope
from storage.models import ItemStatus

__all__ = ["register"]

NOTE_MAX = 2000


def _text(view: dict[str, Any], block: str) -> str:
    return str(view_value(view, block) or "").strip()


def register(app: App, rt: Runtime) -> None:
    @app.view(ids.VIEW_ESCALATE)
    def escalate(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = user_id(body)
        ref = ItemRef.decode(view.get("private_metadata"))
        reason = _text(view, "reason")
        suggested = view_value(view, "suggested")
        errors: dict[str, str] = {}
        if not reason:
            errors["reason"] = "Say why this item needs an expert."
        elif len(reason) > NOTE_MAX:
            errors["reason"] = f"Keep the reason under {NOTE_MAX} characters."
        if ref is None:
            ack(
                response_action="errors",
                errors={"reason": "This form is broken; open it again from the item."},
            )
            return
        with session_scope(rt.factory) as session:
            project = rt.project_of_item(session, ref.item_id)
            if project is None:
                errors["reason"] = "This item's project is no longer configured."
            elif suggested is not None and project.label(str(suggested)) is None:
                errors["suggested"] = "Choose one of the project's labels."
            elif not rt.directory.may_label(project, user):
                errors["reason"] = NOT_ALLOWED.removeprefix(":no_entry: ")
            if errors:
                ack(response_action="errors", errors=errors)
                return
            item = get_item(session, ref.item_id, lock=True)
            if has_open_escalation(session, item.id) or item.status == ItemStatus.ESCALATED:
                ack(response_action="errors", errors={"reason": "This item is already escalated."})
                return
            if item.status != ItemStatus.OPEN or item.round != ref.round:
                ack(
                    response_action="errors",
                    errors={"reason": f"This item is {item.status}; it cannot be escalated now."},
                )
                return
            counts = tally(current_votes(session, item.id).values())
            escalation.open_escalation(
                session,
                item,
                project,
                reason="annotator",
                counts=counts,
                raised_by=user,
                note=reason,
                suggested_label=str(suggested) if suggested else None,
            )
        ack()
        rt.wake_dispatcher()

    def decide_ack(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
        label = view_value(view, "label")
        note = _text(view, "note")
        edge = "edge_case" in (view_value(view, "edge_case") or [])
        errors = {}
        if not label:
            errors["label"] = "Choose the label."
        if not note:
            errors["note"] = "Write a note: it explains the decision to the annotators."
        meta = str(view.get("private_metadata", ""))
        if not meta.isdigit():
            errors["label"] = "This form is broken; open it again from the thread."
        if errors:
            ack(response_action="errors", errors=errors)
            return
        outcome = decide_now(rt, body, str(label), note, edge, esc_id=int(meta))
        if outcome["status"] != "won":
            ack(response_action="errors", errors={"label": _plain(outcome["message"])})
            return
        context["decision"] = outcome
        ack()
        rt.wake_dispatcher()

    def update_thread(client: WebClient, context: BoltContext) -> None:
        outcome = context["decision"]
        if outcome.get("ts"):
            client.chat_update(channel=outcome["channel"], ts=outcome["ts"], **outcome["payload"])

    app.view(ids.VIEW_DECIDE)(ack=decide_ack, lazy=[update_thread])

    def send_back_ack(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
        note = _text(view, "note")
        meta = str(view.get("private_metadata", ""))
        if not note or not meta.isdigit():
            ack(response_action="errors", errors={"note": "Write a note for the annotators."})
            return
        esc_id, project, allowed = expert_check(rt, {**body, "actions": [{"value": meta}]})
        if project is None or esc_id is None or not allowed:
            ack(response_action="errors", errors={"note": _plain(NOT_EXPERT)})
            return
        user = user_id(body)
        with session_scope(rt.factory) as session:
            result = escalation.send_back(session, project, esc_id, user, note)
            if not result.won:
                ack(response_action="errors", errors={"note": "Someone already decided this item."})
                return
            item = result.item
            old: ItemCard = card_for(session, item, project, sent_back=True)
            old = ItemCard(**{**old.__dict__, "round": item.round - 1})
            context["send_back"] = {
                "channel": item.channel or project.channel,
                "thread": result.escalation.thread_ts,
                "old_ts": result.old_message_ts,
                "old_message": item_message(old, project),
                "thread_message": decision_done(project, user, None, note, sent_back=True),
            }
        ack()
        rt.wake_dispatcher()

    def mark_sent_back(client: WebClient, context: BoltContext) -> None:
        done = context["send_back"]
        if done["thread"]:
            client.chat_update(channel=done["channel"], ts=done["thread"], **done["thread_message"])
        if done["old_ts"]:
            client.chat_update(channel=done["channel"], ts=done["old_ts"], **done["old_message"])

    app.view(ids.VIEW_SEND_BACK)(ack=send_back_ack, lazy=[mark_sent_back])


def _plain(message: str) -> str:
    return message.removeprefix(":no_entry: ").replace("*", "")
