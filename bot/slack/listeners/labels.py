"""Label, Undo and Skip clicks on item messages: the hot path.

The label is recorded and committed before the ack (``process_before_response``), so an
acknowledged click is a stored label; the clicker's ephemeral answer is sent after the ack
(``Runtime.after_ack``). Bolt's lazy listeners would deep-copy the whole request first, which
costs more than the label itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, BoltContext
from sqlalchemy.orm import Session

from bot import labeling
from bot.authorization import Permit, Refusal
from bot.labeling import LabelOutcome, LabelResult, refused
from bot.refs import ItemRef
from bot.slack import ids
from bot.slack.blocks.item import label_confirmation, notice
from bot.slack.blocks.text import escape
from bot.slack.listeners.routes import Route, runtime
from bot.slack.payload import action_ref, click, selected_value
from bot.slack.responder import Responder
from bot.slack.runtime import Runtime

__all__ = ["ROUTES", "is_click"]

log = logging.getLogger(__name__)
# A database outage: the click is still answered (a 5xx or a late ack shows the user only a
# warning sign), and the answer says that this label, unlike the others, is not stored.
UNREACHABLE = (
    ":warning: Your label was *not recorded*: labelbot cannot reach its database right now. "
    "Please click again in a minute."
)

Apply = Callable[[Session, Permit, ItemRef], LabelResult]


def is_click(body: dict[str, Any]) -> bool:
    """A label, Undo or Skip click: database work only before its ack, no call to Slack."""
    if body.get("type") != "block_actions":
        return False
    actions = body.get("actions")
    action = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], dict) else {}
    action_id = action.get("action_id")
    return isinstance(action_id, str) and (
        ids.LABEL_BUTTON.match(action_id) is not None or action_id in (ids.LABEL_SELECT, ids.UNDO, ids.SKIP)
    )


def label_click(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext) -> None:
    if action.get("type") == "static_select":
        value = selected_value(action) or ""
    else:
        value = str(action.get("action_id", "")).removeprefix(ids.LABEL_PREFIX)
    rt, where = runtime(context), click(body, action)
    result = _apply(
        rt, action, context.user_id, lambda s, p, ref: labeling.record_label(s, p, ref, value, click=where)
    )
    ack()
    rt.label_recorded(result)
    rt.after_ack(answer, rt.responder, body, action, result)
    if result.closed_item:
        rt.wake_dispatcher()


def undo_click(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext) -> None:
    rt, where = runtime(context), click(body, action)
    result = _apply(
        rt, action, context.user_id, lambda s, p, ref: labeling.undo_label(s, p, ref, click=where)
    )
    ack()
    rt.after_ack(answer, rt.responder, body, action, result)


def skip_click(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext) -> None:
    rt, where = runtime(context), click(body, action)
    result = _apply(rt, action, context.user_id, lambda s, p, ref: labeling.skip_item(s, p, ref, click=where))
    ack()
    rt.after_ack(answer, rt.responder, body, action, result)


def _apply(rt: Runtime, action: dict[str, Any], user: str | None, apply: Apply) -> LabelResult:
    try:
        return _apply_now(rt, action, user, apply)
    except Exception as exc:
        outage = rt.outage(exc)
        if outage is None:
            raise
        log.warning("a click was not recorded: the database is unreachable (%s)", outage)
        return refused(UNREACHABLE)


def _apply_now(rt: Runtime, action: dict[str, Any], user: str | None, apply: Apply) -> LabelResult:
    ref = action_ref(action)
    if ref is None:
        return refused("That button is not one of labelbot's.")
    project = rt.project_of(ref.item_id)
    if project is None:
        return refused("This item's project is no longer configured.")
    permit = rt.authorizer.label(project, user or "")
    if isinstance(permit, Refusal):
        return refused(permit.reason)
    with rt.click() as session:  # the group's transaction, when the server commits clicks in groups
        return apply(session, permit, ref)


def answer(responder: Responder, body: dict[str, Any], action: dict[str, Any], result: LabelResult) -> None:
    """The clicker's ephemeral answer: confirmation with Undo, refusal, undo or skip notice."""
    url = body.get("response_url")
    if result.kind == LabelOutcome.REFUSED:
        message = notice(result.reason or "Not recorded.")
    elif result.kind == LabelOutcome.UNDONE:
        text = escape(result.option.text if result.option else "your label")
        message = notice(f":leftwards_arrow_with_hook: Undone: your label *{text}* was removed.")
        # Undo sits on the clicker's confirmation: that ephemeral is replaced in place.
        responder.send(url, message, replace_original=action.get("action_id") == ids.UNDO)
        return
    elif result.kind == LabelOutcome.SKIPPED or (
        result.kind == LabelOutcome.UNCHANGED and result.option is None
    ):
        message = notice("Skipped: you won't be asked about this item again.")
    elif result.card is not None and result.option is not None:
        message = label_confirmation(result.card, result.option, result.still_open, result.gold_miss)
    else:
        return
    responder.send(url, message, response_type="ephemeral", replace_original=False)


ROUTES = [
    Route("action", ids.LABEL_BUTTON, label_click, decides="labeling.record_label"),
    Route("action", ids.LABEL_SELECT, label_click, decides="labeling.record_label"),
    Route("action", ids.UNDO, undo_click, decides="labeling.undo_label"),
    Route("action", ids.SKIP, skip_click, decides="labeling.skip_item"),
]
