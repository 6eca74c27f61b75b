"""Button and menu clicks on item messages and escalation threads.

Recording listeners do their database work in the ack function (``process_before_response``),
so an acknowledged click is a committed label; answering the user (ephemeral
confirmation, opening a modal) runs lazily after the ack.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from sqlalchemy import select

from bot import escalation, labeling
from bot.audits import answer_audit
from bot.blocks import ids
from bot.blocks.audit import AUDIT_ACTION, audit_done
from bot.blocks.escalation import decide_modal, decision_done, escalate_modal, send_back_modal
from bot.blocks.item import label_confirmation, notice
from bot.blocks.modals import full_text_modal, guidelines_modal
from bot.blocks.text import escape
from bot.guidelines import recent_edge_cases
from bot.items import get_item
from bot.labeling import LabelResult
from bot.listeners.payload import action, action_ref, selected_value, user_id
from bot.responder import Responder
from bot.runtime import Runtime
from storage.db import session_scope
from storage.models import Audit, Escalation

__all__ = ["is_click", "register"]

log = logging.getLogger(__name__)
NOT_ALLOWED = ":no_entry: You are not one of this project's annotators, so your answer was not recorded."
NOT_EXPERT = ":no_entry: Only the experts this item was routed to (and admins) can decide it."


def is_click(body: dict[str, Any]) -> bool:
    """A label, Undo or Skip click: database work only before its ack, no call to Slack."""
    if body.get("type") != "block_actions":
        return False
    action_id = action(body).get("action_id")
    return isinstance(action_id, str) and (
        ids.LABEL_BUTTON.match(action_id) is not None or action_id in (ids.LABEL_SELECT, ids.UNDO, ids.SKIP)
    )


def register(app: App, rt: Runtime) -> None:
    # The hot path: record (committed before the ack), ack, then answer the clicker after the
    # ack (bot.runtime.after_ack). Bolt's lazy listeners would deep-copy the whole request
    # first, which costs more than the label itself.
    def label_ack(ack: Ack, body: dict[str, Any]) -> None:
        act = action(body)
        value = selected_value(body) if act.get("type") == "static_select" else act.get("action_id", "")[6:]
        result = _label(rt, body, lambda s, p, ref, u: labeling.record_label(s, p, ref, u, value or ""))
        ack()
        rt.after_ack(answer, rt.responder, body, result)
        if result.card is not None and result.card.status != "open":
            rt.wake_dispatcher()

    def undo_ack(ack: Ack, body: dict[str, Any]) -> None:
        result = _label(rt, body, labeling.undo_label)
        ack()
        rt.after_ack(answer, rt.responder, body, result)

    def skip_ack(ack: Ack, body: dict[str, Any]) -> None:
        result = _label(rt, body, labeling.skip_item)
        ack()
        rt.after_ack(answer, rt.responder, body, result)

    app.action(ids.LABEL_BUTTON)(label_ack)
    app.action(ids.LABEL_SELECT)(label_ack)
    app.action(ids.UNDO)(undo_ack)
    app.action(ids.SKIP)(skip_ack)

    def ack_only(ack: Ack) -> None:
        ack()

    def open_guidelines(body: dict[str, Any], client: WebClient) -> None:
        ref = action_ref(body)
        with session_scope(rt.factory) as session:
            project = rt.project_of_item(session, ref.item_id) if ref else None
            cases = recent_edge_cases(session, project.key) if project else []
        if project is not None:
            client.views_open(trigger_id=body["trigger_id"], view=guidelines_modal(project, cases))

    def open_full_text(body: dict[str, Any], client: WebClient) -> None:
        ref = action_ref(body)
        if ref is None:
            return
        with session_scope(rt.factory) as session:
            item = get_item(session, ref.item_id)
            external_id, text = item.external_id, item.text
        client.views_open(trigger_id=body["trigger_id"], view=full_text_modal(external_id, text))

    def open_escalate(body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ref = action_ref(body)
        user = user_id(body)
        with session_scope(rt.factory) as session:
            project = rt.project_of_item(session, ref.item_id) if ref else None
            item = get_item(session, ref.item_id) if ref and project else None
            external_id, status = (item.external_id, item.status) if item else ("", "")
        if ref is None or project is None:
            return
        if not rt.directory.may_label(project, user):
            respond(**notice(NOT_ALLOWED), response_type="ephemeral", replace_original=False)
        elif status != "open":
            respond(
                **notice(f"This item is {status}; it cannot be escalated now."),
                response_type="ephemeral",
                replace_original=False,
            )
        else:
            client.views_open(
                trigger_id=body["trigger_id"], view=escalate_modal(project, ref.encode(), external_id)
            )

    app.action(ids.GUIDELINES)(ack=ack_only, lazy=[open_guidelines])
    app.action(ids.FULL_TEXT)(ack=ack_only, lazy=[open_full_text])
    app.action(ids.ESCALATE)(ack=ack_only, lazy=[open_escalate])

    # -- experts ---------------------------------------------------------------------
    def decide_ack(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        label = str(action(body).get("action_id", ""))[len("decide:") :]
        context["decision"] = decide_now(rt, body, label, None, False)
        ack()
        rt.wake_dispatcher()

    def decide_answer(
        body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext
    ) -> None:
        outcome = context["decision"]
        if outcome["status"] == "won":
            client.chat_update(channel=outcome["channel"], ts=outcome["ts"], **outcome["payload"])
        else:
            respond(**notice(outcome["message"]), response_type="ephemeral", replace_original=False)

    app.action(ids.DECIDE)(ack=decide_ack, lazy=[decide_answer])

    def open_decide(body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        esc_id, project, allowed = expert_check(rt, body)
        if project is None or esc_id is None:
            return
        if not allowed:
            respond(**notice(NOT_EXPERT), response_type="ephemeral", replace_original=False)
            return
        view = (decide_modal if action(body).get("action_id") == ids.DECIDE_NOTE else send_back_modal)(
            project, esc_id
        )
        client.views_open(trigger_id=body["trigger_id"], view=view)

    app.action(ids.DECIDE_NOTE)(ack=ack_only, lazy=[open_decide])
    app.action(ids.SEND_BACK)(ack=ack_only, lazy=[open_decide])

    # -- audits --------------------------------------------------------------------------
    def audit_ack(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        act = action(body)
        label = str(act.get("action_id", ""))[len(AUDIT_ACTION) :]
        value = str(act.get("value", ""))
        context["audit"] = _audit(rt, value, user_id(body), label)
        ack()

    def audit_answer(body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
        outcome = context["audit"]
        if outcome["status"] == "recorded":
            container = body.get("container") or {}
            client.chat_update(
                channel=container.get("channel_id"), ts=container.get("message_ts"), **outcome["payload"]
            )
        else:
            respond(**notice(outcome["message"]), response_type="ephemeral", replace_original=False)

    app.action(re.compile(f"^{AUDIT_ACTION}"))(ack=audit_ack, lazy=[audit_answer])


def answer(responder: Responder, body: dict[str, Any], result: LabelResult) -> None:
    """The clicker's ephemeral answer: confirmation with Undo, refusal, undo or skip notice."""
    url = body.get("response_url")
    is_undo = action(body).get("action_id") == ids.UNDO
    if result.kind == "refused":
        message = notice(result.reason or "Not recorded.")
    elif result.kind == "undone":
        text = escape(result.option.text if result.option else "your label")
        message = notice(f":leftwards_arrow_with_hook: Undone: your label *{text}* was removed.")
        # Undo sits on the clicker's confirmation: that ephemeral is replaced in place.
        responder.send(url, message, replace_original=is_undo)
        return
    elif result.kind == "skipped" or (result.kind == "unchanged" and result.option is None):
        message = notice("Skipped: you won't be asked about this item again.")
    elif result.card is not None and result.option is not None:
        message = label_confirmation(result.card, result.option, result.still_open, result.gold_miss)
    else:
        return
    responder.send(url, message, response_type="ephemeral", replace_original=False)


def _label(rt: Runtime, body: dict[str, Any], apply: Any) -> LabelResult:
    ref = action_ref(body)
    user = user_id(body)
    if ref is None:
        return LabelResult("refused", reason="That button is not one of labelbot's.")
    project = rt.project_for_item(ref.item_id)
    if project is None:
        return LabelResult("refused", reason="This item's project is no longer configured.")
    if not rt.directory.may_label(project, user):
        return LabelResult("refused", reason=NOT_ALLOWED)
    with rt.commits.session() as session:  # the group's transaction, when the server runs one
        return apply(session, project, ref, user)


def _audit(rt: Runtime, value: str, user: str, label: str) -> dict[str, Any]:
    if not value.isdigit():
        return {"status": "refused", "message": "That button is not one of labelbot's."}
    with session_scope(rt.factory) as session:
        audit = session.get(Audit, int(value))
        project = rt.project_of_item(session, audit.item_id) if audit else None
        if audit is None or project is None:
            return {"status": "refused", "message": "This audit no longer exists."}
        answer = answer_audit(session, project, audit.id, user, label)
        if answer.status == "refused":
            return {"status": "refused", "message": answer.reason}
        if answer.status == "already":
            return {"status": "refused", "message": "This audit was already answered."}
        done = answer.audit
        return {
            "status": "recorded",
            "payload": audit_done(project, label, done.audited_label, bool(done.agrees)),
        }


def expert_check(rt: Runtime, body: dict[str, Any]) -> tuple[int | None, Any, bool]:
    """(escalation id, project, may this user decide it?) for a click in an escalation thread."""
    value = str(action(body).get("value", ""))
    if not value.isdigit():
        return None, None, False
    esc_id = int(value)
    user = user_id(body)
    with session_scope(rt.factory) as session:
        esc = session.get(Escalation, esc_id)
        project = rt.project_of_item(session, esc.item_id) if esc else None
        experts = list(esc.experts or []) if esc else []
    if project is None:
        return esc_id, None, False
    allowed_ids = experts + list(project.experts.admins)
    return esc_id, project, rt.directory.includes(allowed_ids, user)


def decide_now(
    rt: Runtime,
    body: dict[str, Any],
    label: str,
    note: str | None,
    edge_case: bool,
    esc_id: int | None = None,
) -> dict[str, Any]:
    """Shared by the decision buttons and the decide modal: the first decision wins."""
    if esc_id is None:
        found, project, allowed = expert_check(rt, body)
    else:
        found, project, allowed = _expert_check_id(rt, body, esc_id)
    user = user_id(body)
    if found is None or project is None:
        return {"status": "refused", "message": "This escalation no longer exists."}
    if not allowed:
        return {"status": "refused", "message": NOT_EXPERT}
    if project.label(label) is None:
        return {"status": "refused", "message": "That label is not one of this project's labels."}
    with session_scope(rt.factory) as session:
        result = escalation.decide(session, project, found, user, label, note=note, edge_case=edge_case)
        esc = result.escalation
        channel = result.item.channel or project.channel
        if not result.won:
            who = esc.decided_by or "someone"
            if esc.status == "sent_back":
                return {"status": "lost", "message": f"<@{who}> already sent this item back for relabeling."}
            option = project.label(esc.decided_label or "")
            what = escape(option.text if option else (esc.decided_label or "?"))
            return {"status": "lost", "message": f"<@{who}> already decided this item: *{what}*."}
        return {
            "status": "won",
            "channel": channel,
            "ts": esc.thread_ts,
            "payload": decision_done(project, user, label, note),
        }


def _expert_check_id(rt: Runtime, body: dict[str, Any], esc_id: int) -> tuple[int | None, Any, bool]:
    fake = {**body, "actions": [{"value": str(esc_id)}]}
    return expert_check(rt, fake)


def has_open_escalation(session: Any, item_id: int) -> bool:
    return (
        session.scalar(
            select(Escalation.id).where(Escalation.item_id == item_id, Escalation.status == "open")
        )
        is not None
    )
