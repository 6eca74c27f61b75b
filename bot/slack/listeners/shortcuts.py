""" "Send to labeling", the message shortcut: open the modal, then make the message an item.

The shortcut is acknowledged at once; the lazy half tells what kind of conversation the message
is in (``conversations.info``; a DM by its id), lists the projects the user may send it to,
gets the message's permalink (``chat.getPermalink``; a conversation the bot cannot see has
none, and the item is made without it) and opens the modal with the shortcut's trigger. A user
who may send to no project, or a private message no such project accepts, gets a modal saying so.

The submission is decided in its ack, as the other modals are: bad input is answered in the
modal (``response_action: errors``) and writes nothing; a sent message turns the modal into a
confirmation (``response_action: update``).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import message_items
from bot.authorization import Refusal
from bot.message_items import Refused, SlackMessage, SourceKind
from bot.slack import ids
from bot.slack.blocks.shortcut import read_label_option, refusal_modal, send_modal, sent_modal
from bot.slack.listeners.routes import Route, ack_only, runtime
from bot.slack.message_action import decode_message, encode_message, read_message_action
from bot.slack.payload import view_value

__all__ = ["ROUTES"]

log = logging.getLogger(__name__)

BROKEN = "This form is broken; use Send to labeling on the message again."
NO_PROJECT = (
    "You may not send messages to any project for labeling: a project's admin can add you to its "
    "submitters in labelbot.yml."
)
TOO_LONG = "This message is too long to send to labeling from Slack."


def _plain(message: str) -> str:
    """A refusal as plain text (no emoji code, no bold)."""
    return message.removeprefix(":no_entry: ").replace("*", "")


def _source_kind(client: WebClient, channel: str, *, ask: bool) -> SourceKind:
    """The kind of conversation (``conversations.info`` if ``ask``); one the bot cannot see, or
    did not ask about, counts as private (``UNKNOWN``)."""
    if channel.startswith("D"):  # direct messages have D ids; no call needed
        return SourceKind.IM
    if not ask:
        return SourceKind.UNKNOWN
    try:
        info = client.conversations_info(channel=channel).get("channel") or {}
    except SlackApiError as exc:
        log.info("send to labeling: conversations.info on %s: %s", channel, exc.response.get("error"))
        return SourceKind.UNKNOWN
    if info.get("is_im"):
        return SourceKind.IM
    if info.get("is_mpim"):
        return SourceKind.MPIM
    return SourceKind.PRIVATE if info.get("is_private") else SourceKind.CHANNEL


def _permalink(client: WebClient, message: SlackMessage) -> str | None:
    try:
        link = client.chat_getPermalink(channel=message.channel, message_ts=message.ts).get("permalink")
    except SlackApiError as exc:
        log.info("send to labeling: no permalink for %s: %s", message.channel, exc.response.get("error"))
        return None
    return link if isinstance(link, str) else None


def open_send_to_labeling(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    rt, trigger = runtime(context), body.get("trigger_id")
    message = read_message_action(body)
    if message is None or not isinstance(trigger, str):
        return
    permits = message_items.submittable(rt.authorizer, rt.config.projects, context.user_id or "")
    if not permits:
        client.views_open(trigger_id=trigger, view=refusal_modal(NO_PROJECT))
        return
    # Slack is asked only when it matters; untold, the message counts as private (fail closed),
    # which the projects that accept private sources take as they are.
    ask = any(not p.project.allow_private_sources for p in permits)
    kind = _source_kind(client, message.channel, ask=ask)
    accepting = [p.project for p in permits if message_items.private_source_refusal(p.project, kind) is None]
    if not accepting:
        refusal = message_items.private_source_refusal(permits[0].project, kind) or ""
        if len(permits) > 1:
            refusal = (
                f"This message is in {kind.described}, and none of your projects accepts messages from "
                "private conversations (allow_private_sources in labelbot.yml): their items are shown "
                "to people who could not read them there."
            )
        client.views_open(trigger_id=trigger, view=refusal_modal(refusal))
        return
    message = replace(message, kind=kind, permalink=_permalink(client, message))
    metadata = encode_message(message)
    if metadata is None:
        client.views_open(trigger_id=trigger, view=refusal_modal(TOO_LONG))
        return
    client.views_open(trigger_id=trigger, view=send_modal(accepting, message, metadata))


def submit_send_to_labeling(ack: Ack, view: dict[str, Any], context: BoltContext) -> None:
    rt, user = runtime(context), context.user_id or ""
    message = decode_message(view.get("private_metadata"))
    key = view_value(view, "project")
    project = next((p for p in rt.config.projects if p.key == key), None)
    if message is None:
        ack(response_action="errors", errors={"project": BROKEN})
        return
    if project is None:
        ack(response_action="errors", errors={"project": "Choose one of the projects."})
        return
    suggested: str | None = None
    chosen = view_value(view, "suggested")
    if isinstance(chosen, str) and chosen:
        option = read_label_option(chosen, rt.config.projects)
        if option is None or option[0] != project.key:
            ack(
                response_action="errors",
                errors={"suggested": f"Choose one of {project.name}'s labels, or none."},
            )
            return
        suggested = option[1]
    note = view_value(view, "note")
    permit = rt.authorizer.submit(project, user)  # a group lookup: before the write transaction
    if isinstance(permit, Refusal):
        ack(response_action="errors", errors={"project": _plain(permit.reason)})
        return
    with rt.write() as session:
        result = message_items.send_to_labeling(
            session, permit, message, note=note if isinstance(note, str) else "", suggested=suggested
        )
    if isinstance(result, Refused):
        ack(response_action="errors", errors={result.field: result.reason})
        return
    ack(response_action="update", view=sent_modal(project, result))
    if result.created:
        rt.wake_dispatcher()


ROUTES = [
    Route(
        "shortcut",
        ids.SEND_TO_LABELING,
        ack_only,
        (open_send_to_labeling,),
        decides="message_items.submittable",
    ),
    Route(
        "view",
        ids.VIEW_SEND_TO_LABELING,
        submit_send_to_labeling,
        decides="message_items.send_to_labeling",
    ),
]
