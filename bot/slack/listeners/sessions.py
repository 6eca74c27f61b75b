"""Personal queues in direct messages (``bot.personal``): Start labeling, the session's buttons.

``start_labeling`` is shared by the App Home button, the session's "Start again" and
``/label next``. A session's answers are recorded before the ack (like channel clicks) and the
message is replaced in place through the click's ``response_url`` after it: no ``chat.update``
per answer, whose per-workspace rate limit twenty people labeling would exceed.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot import personal
from bot.authorization import Refusal
from bot.config import ProjectConfig
from bot.personal import EndReason, NotStarting, SessionView
from bot.refs import Click, ItemRef
from bot.slack import ids
from bot.slack.blocks.item import notice
from bot.slack.blocks.session import session_message
from bot.slack.blocks.text import escape, plain
from bot.slack.listeners.routes import Route, ack_only, runtime
from bot.slack.metrics import METRICS
from bot.slack.payload import action_ref, click, selected_value
from bot.slack.responder import Responder
from bot.slack.runtime import Runtime

__all__ = ["ROUTES", "start_labeling"]

log = logging.getLogger(__name__)
_rng = random.Random()


@dataclass(frozen=True)
class Started:
    ok: bool
    text: str  # what to tell the user (mrkdwn, escaped)


def _name(project: ProjectConfig) -> str:
    return escape(plain(project.name, 150))


WHY = {
    NotStarting.CHANNEL_ONLY: "*{name}* is labeled in its channel, <#{channel}>, not in direct messages.",
    NotStarting.NO_ITEMS: "*{name}* has no items yet.",
    NotStarting.PAUSED: ":double_vertical_bar: *{name}* is paused by its admins; try again later.",
}


def start_labeling(rt: Runtime, user: str, project_key: str | None) -> str:
    """Open ``user``'s labeling session by direct message, in ``project_key`` (None: the first
    project they may label that has an item for them). Returns what to tell them (mrkdwn)."""
    return _start(rt, user, project_key).text


def _choices(rt: Runtime, user: str, project_key: str | None) -> list[ProjectConfig] | str:
    if project_key is not None:
        project = next((p for p in rt.config.projects if p.key == project_key), None)
        if project is None:
            known = ", ".join(f"`{escape(p.key)}`" for p in rt.config.projects)
            return f"No project `{escape(project_key[:64])}`. Projects: {known}"
        permit = rt.authorizer.label(project, user)
        return permit.reason if isinstance(permit, Refusal) else [project]
    mine = [p for p in rt.config.projects if not isinstance(rt.authorizer.label(p, user), Refusal)]
    return mine or ":no_entry: You are not an annotator of any project."


def _start(rt: Runtime, user: str, project_key: str | None) -> Started:
    choices = _choices(rt, user, project_key)
    if isinstance(choices, str):
        return Started(False, choices)
    reasons = []
    for project in choices:
        started = _start_in(rt, user, project, quiet=project_key is None and len(choices) > 1)
        if started.ok:
            return started
        reasons.append(started.text)
    if project_key is None and len(choices) > 1:
        return Started(False, ":tada: Nothing waits for you in any of your projects right now.")
    return Started(False, reasons[0])


def _start_in(rt: Runtime, user: str, project: ProjectConfig, *, quiet: bool) -> Started:
    permit = rt.authorizer.label(project, user)
    if isinstance(permit, Refusal):
        return Started(False, permit.reason)
    with rt.read() as session:
        pid = personal.project_id(session, project.key)
        why = personal.why_not_start(session, project, pid)
    if why is not None or pid is None:
        reason = why or NotStarting.NO_ITEMS
        return Started(False, WHY[reason].format(name=_name(project), channel=project.channel))
    try:
        dm = rt.client.conversations_open(users=user)["channel"]["id"]
    except SlackApiError as exc:
        return Started(False, f"I could not open a direct message with you ({exc.response.get('error')}).")
    now = datetime.now(UTC)
    with rt.write() as session:
        row, replaced = personal.start(session, permit, pid, now)
        card = personal.advance(session, row, project, _rng, now)
        view = SessionView(row.id, project, user, card=card)
        if card is None:
            personal.end_session(session, row.id, EndReason.EMPTY, now)
    _replace_ended(rt.client, project, user, replaced)
    if card is None:
        return Started(False, f":tada: Nothing waits for you in *{_name(project)}* right now.")
    try:
        ts = rt.client.chat_postMessage(channel=dm, **session_message(view))["ts"]
    except SlackApiError as exc:
        with rt.write() as session:
            personal.end_session(session, view.session_id, EndReason.UNDELIVERED, datetime.now(UTC))
        return Started(False, f"I could not send you a direct message ({exc.response.get('error')}).")
    with rt.write() as session:
        personal.message_recorded(session, view.session_id, dm, ts)
    rt.homes_changed(user)
    return Started(
        True, f":inbox_tray: Your next item from *{_name(project)}* is in your direct messages with me."
    )


def _replace_ended(client: WebClient, project: ProjectConfig, user: str, replaced: list[Any]) -> None:
    """The messages of sessions a new one replaced show their summaries (best effort)."""
    for channel, ts, summary in replaced:
        view = SessionView(0, project, user, summary=summary, notice="You started a new session.")
        try:
            client.chat_update(channel=channel, ts=ts, **session_message(view))
        except SlackApiError as exc:
            log.warning("could not close an earlier session's message: %s", exc.response.get("error"))


def start_clicked(
    body: dict[str, Any], action: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """Start labeling (App Home) or Start again (a session's summary): there is no reply to a Home
    click but the DM itself, so a refusal is sent there too."""
    rt, user = runtime(context), context.user_id or ""
    key = action.get("value")
    started = _start(rt, user, key if isinstance(key, str) else None)
    if started.ok:
        return
    try:
        dm = client.conversations_open(users=user)["channel"]["id"]
        client.chat_postMessage(channel=dm, **notice(started.text))
    except SlackApiError as exc:
        log.warning("could not tell a user why no session started: %s", exc.response.get("error"))


# -- the session's buttons ------------------------------------------------------------------------------
Apply = Callable[[Session, Any, Click], SessionView]


def _apply(
    rt: Runtime, body: dict[str, Any], action: dict[str, Any], user: str, apply: Apply
) -> SessionView | str:
    """The session's project from the click (its item, or the session the message belongs to), the
    permit, then ``apply`` in a write transaction. A string is a refusal to show the clicker."""
    where = click(body, action)
    ref = action_ref(action)
    project = rt.project_of(ref.item_id) if ref is not None else None
    if project is None:
        with rt.read() as session:
            key = personal.project_of_session(session, user, where.channel, where.message_ts)
        project = next((p for p in rt.config.projects if p.key == key), None)
    if project is None:
        return personal.GONE
    permit = rt.authorizer.label(project, user)
    if isinstance(permit, Refusal):
        return permit.reason
    with rt.write() as session:
        return apply(session, permit, where)


def _answered(rt: Runtime, ack: Ack, body: dict[str, Any], outcome: SessionView | str, user: str) -> None:
    ack()
    rt.after_ack(_show, rt.responder, body, outcome)
    rt.wake_dispatcher()  # the channel message's progress, a closed item's thread
    rt.homes_changed(user)


def _show(responder: Responder, body: dict[str, Any], outcome: SessionView | str) -> None:
    url = body.get("response_url")
    if isinstance(outcome, str) or outcome.session_id == 0:
        text = outcome if isinstance(outcome, str) else (outcome.notice or "")
        responder.send(url, notice(text), response_type="ephemeral", replace_original=False)
        return
    responder.send(url, session_message(outcome), replace_original=True)


def _ref(action: dict[str, Any]) -> ItemRef:
    return action_ref(action) or ItemRef(0, 0)


def dm_label_click(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext) -> None:
    if action.get("type") == "static_select":
        value = selected_value(action) or ""
    else:
        value = str(action.get("action_id", "")).removeprefix(ids.DM_LABEL_PREFIX)
    rt, user, ref = runtime(context), context.user_id or "", _ref(action)
    outcome = _apply(rt, body, action, user, lambda s, p, w: personal.label(s, p, ref, value, w, _rng))
    if isinstance(outcome, SessionView) and outcome.recorded:
        METRICS.label_recorded(outcome.project.key)
    _answered(rt, ack, body, outcome, user)


def dm_skip_click(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext) -> None:
    rt, user, ref = runtime(context), context.user_id or "", _ref(action)
    outcome = _apply(rt, body, action, user, lambda s, p, w: personal.skip(s, p, ref, w, _rng))
    _answered(rt, ack, body, outcome, user)


def dm_undo_click(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext) -> None:
    rt, user, ref = runtime(context), context.user_id or "", _ref(action)
    outcome = _apply(rt, body, action, user, lambda s, p, w: personal.undo(s, p, ref, w))
    _answered(rt, ack, body, outcome, user)


def dm_stop_click(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext) -> None:
    rt, user = runtime(context), context.user_id or ""
    outcome = _apply(rt, body, action, user, lambda s, p, w: personal.stop(s, p, w))
    _answered(rt, ack, body, outcome, user)


def dm_again_click(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext) -> None:
    rt, user = runtime(context), context.user_id or ""
    outcome = _apply(rt, body, action, user, lambda s, p, w: personal.again(s, p, w, _rng))
    _answered(rt, ack, body, outcome, user)


ROUTES = [
    Route("action", ids.START_LABELING, ack_only, (start_clicked,), decides="personal.start"),
    Route("action", ids.DM_LABEL_BUTTON, dm_label_click, decides="personal.label"),
    Route("action", ids.DM_LABEL_SELECT, dm_label_click, decides="personal.label"),
    Route("action", ids.DM_SKIP, dm_skip_click, decides="personal.skip"),
    Route("action", ids.DM_UNDO, dm_undo_click, decides="personal.undo"),
    Route("action", ids.DM_STOP, dm_stop_click, decides="personal.stop"),
    Route("action", ids.DM_NEXT, dm_again_click, decides="personal.again"),
]
