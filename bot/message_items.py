"""Items from Slack messages ("Send to labeling", the message shortcut): the rules, without Slack.

A message becomes an item of a project for a user the project lets submit (a :class:`Permit` for
``Action.SUBMIT``), through the importer's own path (``importer.upsert_items``), so it is queued
and has its history like an imported item. Its external id is ``slack:<channel>:<ts>``: the same
message sent to a project twice is one item, and the second send changes nothing.

What is stored: the text as the author typed it (Slack's ``&amp;``, ``&lt;`` and ``&gt;`` decoded;
mentions stay in Slack's markup, ``<@U…>``, and are escaped like any item text when posted), and
metadata naming where it came from. Files and attachments are noted (names and counts), never
copied. C0 control characters other than tab, LF and CR, which the importer refuses, are removed:
Slack shows none of them, and the person sending a message cannot edit someone else's.

A message from a private channel, a DM or a group DM (or one whose kind cannot be told) is refused
unless the project sets ``allow_private_sources``: its item would be shown in the project's
channel, to people who could not read it where it was written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.authorization import Action, Authorizer, Permit
from bot.config import ProjectConfig
from bot.items import get_project, record_event
from storage.models import Item

__all__ = [
    "FILE_NAMES_KEPT",
    "NOTE_MAX",
    "Refused",
    "Sent",
    "SlackMessage",
    "SourceKind",
    "external_id",
    "item_text",
    "private_source_refusal",
    "send_to_labeling",
    "submittable",
]

NOTE_MAX = 2000
FILE_NAMES_KEPT = 20  # a message has at most 10 files today; more are counted, not named
FILE_NAME_MAX = 255
#: The importer's rule (``bot.importer.CONTROL_CHARACTER``), repeated here so that this module
#: does not load pandas; ``tests/bot/test_message_items.py`` holds the two together.
CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class SourceKind(StrEnum):
    """The kind of conversation a message was written in, as the Slack edge could tell it."""

    CHANNEL = "channel"  # a public channel
    PRIVATE = "private_channel"
    IM = "im"  # a direct message
    MPIM = "mpim"  # a group direct message
    UNKNOWN = "unknown"  # the bot could not see the conversation: counted as private

    @property
    def is_private(self) -> bool:
        return self is not SourceKind.CHANNEL

    @property
    def described(self) -> str:
        return {
            SourceKind.CHANNEL: "a public channel",
            SourceKind.PRIVATE: "a private channel",
            SourceKind.IM: "a direct message",
            SourceKind.MPIM: "a group direct message",
            SourceKind.UNKNOWN: "a conversation labelbot cannot see (so it counts as private)",
        }[self]


@dataclass(frozen=True)
class SlackMessage:
    """A message as the shortcut delivered it (plain values: the edge parsed the payload)."""

    channel: str
    ts: str
    text: str  # as Slack sends it: ``&amp;``, ``&lt;`` and ``&gt;`` escaped
    kind: SourceKind
    author: str | None = None  # a user id, or a bot id for a bot's message
    files: tuple[str, ...] = ()  # the names of its files
    attachments: int = 0  # legacy attachments (link previews and the like)
    thread_ts: str | None = None  # when the message is a reply in a thread
    permalink: str | None = None


@dataclass(frozen=True)
class Sent:
    """The message is an item: ``created`` now, or already (then ``status`` is the item's)."""

    item_id: int
    external_id: str
    created: bool
    status: str


@dataclass(frozen=True)
class Refused:
    """Nothing was written; ``field`` is the modal input the reason is about."""

    field: str  # "project", "suggested" or "note"
    reason: str  # plain text, said to the user as is


def external_id(channel: str, ts: str) -> str:
    return f"slack:{channel}:{ts}"


def submittable(authorizer: Authorizer, projects: Iterable[ProjectConfig], user: str) -> list[Permit]:
    """The projects ``user`` may send messages to, as permits, in configuration order."""
    permits = (authorizer.submit(project, user) for project in projects)
    return [p for p in permits if isinstance(p, Permit)]


def private_source_refusal(project: ProjectConfig, kind: SourceKind) -> str | None:
    """Why a message from a conversation of ``kind`` may not become an item of ``project``, or None."""
    if not kind.is_private or project.allow_private_sources:
        return None
    return (
        f"This message is in {kind.described}. {project.name} accepts messages from public channels "
        "only: its items are shown to people who could not read them there "
        "(allow_private_sources in labelbot.yml)."
    )


def _clean(text: str) -> str:
    return CONTROL_CHARACTER.sub("", text)


def _unescape(text: str) -> str:
    """Slack's escaping undone: the characters the author typed (``&amp;`` last)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def item_text(message: SlackMessage) -> str | None:
    """The item's text: the message's, or for a message of files only a line saying so
    (``(no text; 2 files)``); None when there is nothing at all."""
    text = _clean(_unescape(message.text)).strip()
    if text:
        return text
    parts = [_plural(len(message.files), "file")] if message.files else []
    parts += [_plural(message.attachments, "attachment")] if message.attachments else []
    return f"(no text; {', '.join(parts)})" if parts else None


def _meta(message: SlackMessage, user: str, note: str, suggested: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "source": "slack",
        "slack_channel": message.channel,
        "slack_ts": message.ts,
        "author": _clean(message.author or "unknown"),
        "submitted_by": user,
    }
    optional: dict[str, Any] = {
        "thread_ts": message.thread_ts,
        "permalink": message.permalink and _clean(message.permalink),
        "note": note or None,
        "suggested_label": suggested,
        "files": [_clean(name)[:FILE_NAME_MAX] for name in message.files[:FILE_NAMES_KEPT]] or None,
        "file_count": len(message.files) or None,
        "attachments": message.attachments or None,
    }
    meta.update({key: value for key, value in optional.items() if value is not None})
    return meta


@dataclass(frozen=True)
class _Checked:
    text: str
    note: str
    suggested: str | None = None


def _check(permit: Permit, message: SlackMessage, note: str, suggested: str | None) -> Refused | _Checked:
    project = permit.project
    private = private_source_refusal(project, message.kind)
    if private is not None:
        return Refused("project", private)
    note = _clean(note).strip()
    if len(note) > NOTE_MAX:
        return Refused("note", f"Keep the note under {NOTE_MAX} characters.")
    if suggested is not None and project.label(suggested) is None:
        names = ", ".join(label.text for label in project.labels)
        return Refused("suggested", f"{suggested!r} is not one of {project.name}'s labels ({names}).")
    text = item_text(message)
    if text is None:
        return Refused("project", "This message has no text, files or attachments: nothing to label.")
    return _Checked(text, note, suggested)


def send_to_labeling(
    session: Session, permit: Permit, message: SlackMessage, *, note: str = "", suggested: str | None = None
) -> Sent | Refused:
    """Make ``message`` an item of ``permit.project``, queued like an imported one; or say why not.

    Idempotent per (project, channel, ts): a message that is already an item is left as it is
    (:class:`Sent` with ``created=False`` and its status). The caller owns the transaction;
    a refusal writes nothing.
    """
    from bot.importer import ItemRow, upsert_items  # pandas: not on the labeling path's imports

    permit.require(Action.SUBMIT)
    checked = _check(permit, message, note, suggested)
    if isinstance(checked, Refused):
        return checked
    ext = external_id(message.channel, message.ts)
    try:
        # Two sends of one message at once (PostgreSQL): the second meets the first's unique
        # external id (or project row) once the first commits, and finds its item.
        with session.begin_nested():
            project = get_project(session, permit.project.key)
            known = _existing(session, project.id, ext)
            if known is not None:
                return known
            meta = _meta(message, permit.user, checked.note, checked.suggested)
            upsert_items(session, project, [ItemRow(ext, checked.text, meta, None)])
    except IntegrityError:
        project = get_project(session, permit.project.key)
        known = _existing(session, project.id, ext)
        if known is None:
            raise
        return known
    item = session.scalars(select(Item).where(Item.project_id == project.id, Item.external_id == ext)).one()
    detail = {"source": "slack", "channel": message.channel, "ts": message.ts}
    if checked.suggested:
        detail["suggested_label"] = checked.suggested
    record_event(session, item, permit.user, "submitted", detail=detail)
    return Sent(item.id, ext, created=True, status=item.status)


def _existing(session: Session, project_id: int, ext: str) -> Sent | None:
    row = session.execute(
        select(Item.id, Item.status).where(Item.project_id == project_id, Item.external_id == ext)
    ).first()
    return None if row is None else Sent(row.id, ext, created=False, status=row.status)
