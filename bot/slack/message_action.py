"""Reading a message shortcut's payload (``type: message_action``), and carrying the message from
the shortcut to its modal's submission.

Slack sends the whole message with the shortcut but only the modal's ``private_metadata`` (at most
3,000 characters) with the submission: the message travels there, as compressed JSON. Slack
returns the metadata as the app set it, and the submission is signed, so a user cannot change it;
it is still read as untrusted input (size-capped, shape-checked).
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from typing import Any

from bot.message_items import SlackMessage, SourceKind

__all__ = ["METADATA_MAX", "decode_message", "encode_message", "read_message_action"]

METADATA_MAX = 3000  # Slack's limit on a view's private_metadata
_INFLATED_MAX = 200_000  # more than any message that fits in METADATA_MAX compressed


def _string(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def read_message_action(body: dict[str, Any]) -> SlackMessage | None:
    """The message a shortcut was used on (its conversation's kind not known yet), or None for a
    payload that does not name one."""
    channel, message = body.get("channel"), body.get("message")
    if not isinstance(channel, dict) or not isinstance(message, dict):
        return None
    channel_id, ts = _string(channel.get("id")), _string(message.get("ts")) or _string(body.get("message_ts"))
    if channel_id is None or ts is None:
        return None
    files = message.get("files")
    files = files if isinstance(files, list) else []
    names = [f.get("name") or f.get("title") or "file" for f in files if isinstance(f, dict)]
    attachments = message.get("attachments")
    thread_ts = _string(message.get("thread_ts"))
    text = message.get("text")
    return SlackMessage(
        channel=channel_id,
        ts=ts,
        text=text if isinstance(text, str) else "",
        kind=SourceKind.UNKNOWN,
        # message events can have a bot_id and no user (a bot's message)
        author=_string(message.get("user")) or _string(message.get("bot_id")),
        files=tuple(str(n) for n in names),
        attachments=len(attachments) if isinstance(attachments, list) else 0,
        thread_ts=thread_ts if thread_ts != ts else None,
    )


_FIELDS = ("channel", "ts", "text", "kind", "author", "files", "attachments", "thread_ts", "permalink")


def encode_message(message: SlackMessage) -> str | None:
    """``message`` as a view's private_metadata, or None when it does not fit."""
    values = [getattr(message, name) for name in _FIELDS]
    values[_FIELDS.index("files")] = list(message.files)
    raw = json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    encoded = base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode("ascii")
    return encoded if len(encoded) <= METADATA_MAX else None


def decode_message(metadata: object) -> SlackMessage | None:
    """The message :func:`encode_message` wrote, or None for anything else."""
    if not isinstance(metadata, str) or not metadata or len(metadata) > METADATA_MAX:
        return None
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(base64.urlsafe_b64decode(metadata.encode("ascii")), _INFLATED_MAX)
        values = json.loads(raw) if inflater.eof else None
    except (ValueError, binascii.Error, zlib.error, UnicodeError):
        return None
    if not isinstance(values, list) or len(values) != len(_FIELDS):
        return None
    fields = dict(zip(_FIELDS, values, strict=True))
    strings = ("channel", "ts", "text", "kind")
    optional = ("author", "thread_ts", "permalink")
    files = fields["files"]
    if (
        not all(isinstance(fields[k], str) for k in strings)
        or not all(fields[k] is None or isinstance(fields[k], str) for k in optional)
        or not (isinstance(files, list) and all(isinstance(f, str) for f in files))
        or type(fields["attachments"]) is not int
        or fields["attachments"] < 0
        or fields["kind"] not in {kind.value for kind in SourceKind}
    ):
        return None
    return SlackMessage(**{**fields, "kind": SourceKind(fields["kind"]), "files": tuple(files)})
