"""``chat.*`` and ``reactions.*``: posting, updating, deleting and linking messages, ephemeral
messages, and the bot's reactions.  Strict as Slack is: the bot must be in the channel
(``not_in_channel``; a private channel it is not in is ``channel_not_found``), archived
channels refuse posts, a message needs text, blocks or attachments (``no_text``), text is
capped at 40,000 characters, attachments at 100 and metadata at 8 kB, blocks are validated
as Slack's servers validate them (``invalid_blocks`` with one message per problem) and stored
normalised, threads must exist, and only the bot's own messages can be updated or deleted.
"""

from __future__ import annotations

import json
from typing import Any

from . import payloads
from .blockkit import normalize_blocks, validate_blocks
from .core import MAX_TEXT, ApiError, EmulatorBase, _bool


class ChatApi(EmulatorBase):
    """``chat.*`` and ``reactions.*`` Web API methods."""

    # ------------------------------------------------------------------ Web API: chat.*

    def _chat_post_message(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ch = self._api_channel(params.get("channel"), allow_user=True, need_member=True)
        if ch.is_archived:
            raise ApiError("is_archived")
        content = self._message_content(params)
        msg = self._bot_message(content.get("text", ""), self._next_ts())
        for key in ("blocks", "attachments", "metadata"):
            if key in content:
                msg[key] = content[key]
        thread_ts = params.get("thread_ts")
        if thread_ts:
            parent = self._find_message(ch, thread_ts)
            if parent is None:
                raise ApiError("thread_not_found")
            msg["thread_ts"] = parent.get("thread_ts", parent["ts"])
            root = self._find_message(ch, msg["thread_ts"]) or parent
            msg["parent_user_id"] = root.get("user")
            if _bool(params.get("reply_broadcast")):
                msg["subtype"] = "thread_broadcast"
                msg["root"] = self._render(root, include_metadata=False)
        self._store_message(ch, msg)
        rendered = self._render(msg, include_metadata=True)
        if self.echo_bot_messages and self._wants_message_event(ch):
            self._deliver_async(payloads.message_event(msg, channel=ch.id, channel_type=ch.channel_type))
        return {"channel": ch.id, "ts": msg["ts"], "message": rendered}

    def _chat_update(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ch = self._api_channel(params.get("channel"))
        msg = self._find_message(ch, params.get("ts"))
        if msg is None or msg.get("subtype") == "tombstone":
            raise ApiError("message_not_found")
        if msg.get("bot_id") != self.ctx.bot_id:
            raise ApiError("cant_update_message")
        if not any(k in params for k in ("text", "blocks", "attachments", "metadata")):
            raise ApiError("no_text")
        merged = {"text": params.get("text", msg.get("text", ""))}
        for key in ("blocks", "attachments", "metadata"):
            merged[key] = params[key] if key in params else msg.get(key)
        content = self._message_content({k: v for k, v in merged.items() if v is not None}, for_update=True)
        previous = self._render(msg, include_metadata=False)
        msg["text"] = content.get("text", "")
        for key in ("blocks", "attachments", "metadata"):
            if content.get(key):
                msg[key] = content[key]
            else:
                msg.pop(key, None)
        msg["edited"] = {"user": self.ctx.bot_user_id, "ts": self._next_ts()}
        for state_key in [k for k in self._msg_state if k[0] == ch.id and k[1] == msg["ts"]]:
            del self._msg_state[state_key]
        if self.echo_bot_messages and self._wants_message_event(ch):
            self._deliver_async(
                payloads.message_changed_event(
                    self._render(msg, include_metadata=False),
                    previous,
                    channel=ch.id,
                    channel_type=ch.channel_type,
                    event_ts=msg["edited"]["ts"],
                )
            )
        return {
            "channel": ch.id,
            "ts": msg["ts"],
            "text": msg["text"],
            "message": self._render(msg, include_metadata=True),
        }

    def _chat_delete(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ch = self._api_channel(params.get("channel"))
        msg = self._find_message(ch, params.get("ts"))
        if msg is None or msg.get("subtype") == "tombstone":
            raise ApiError("message_not_found")
        if msg.get("bot_id") != self.ctx.bot_id:
            raise ApiError("cant_delete_message")
        previous = self._render(msg, include_metadata=False)
        self._remove_message(ch, msg)
        if self.echo_bot_messages and self._wants_message_event(ch):
            self._deliver_async(
                payloads.message_deleted_event(
                    previous, channel=ch.id, channel_type=ch.channel_type, event_ts=self._next_ts()
                )
            )
        return {"channel": ch.id, "ts": previous["ts"]}

    def _chat_post_ephemeral(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ch = self._api_channel(params.get("channel"), need_member=True)
        user = params.get("user")
        if not user or user not in self._users:
            raise ApiError("user_not_found")
        if user not in ch.members:
            raise ApiError("user_not_in_channel")
        content = self._message_content(params)
        ts = self._next_ts()
        self._add_ephemeral(ch.id, user, ts, content, params.get("thread_ts"), "chat.postEphemeral")
        return {"message_ts": ts}

    def _add_ephemeral(
        self, channel: str, user: str, ts: str, content: dict[str, Any], thread_ts: str | None, source: str
    ) -> dict[str, Any]:
        eph = {
            "type": "message",
            "subtype": "bot_message",
            "ts": ts,
            "channel": channel,
            "recipient": user,
            "bot_id": self.ctx.bot_id,
            "text": content.get("text", ""),
            "source": source,
        }
        for key in ("blocks", "attachments"):
            if content.get(key):
                eph[key] = content[key]
        if thread_ts:
            eph["thread_ts"] = thread_ts
        self._ephemerals.append(eph)
        return eph

    def _chat_get_permalink(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ch = self._api_channel(params.get("channel"))
        msg = self._find_message(ch, params.get("message_ts"))
        if msg is None:
            raise ApiError("message_not_found")
        link = f"https://{self.ctx.team_domain}.slack.com/archives/{ch.id}/p{msg['ts'].replace('.', '')}"
        if msg.get("thread_ts") and msg["thread_ts"] != msg["ts"]:
            link += f"?thread_ts={msg['thread_ts']}&cid={ch.id}"
        return {"channel": ch.id, "permalink": link}

    # ------------------------------------------------------------------ Web API: reactions.*

    def _reactions_add(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ch = self._api_channel(params.get("channel"), need_member=True)
        msg = self._find_message(ch, params.get("timestamp"))
        name = str(params.get("name") or "").strip(":")
        if msg is None:
            raise ApiError("message_not_found")
        if not name:
            raise ApiError("invalid_name")
        reactions = msg.setdefault("reactions", [])
        entry = next((r for r in reactions if r["name"] == name), None)
        if entry is None:
            entry = {"name": name, "users": [], "count": 0}
            reactions.append(entry)
        if self.ctx.bot_user_id in entry["users"]:
            raise ApiError("already_reacted")
        entry["users"].append(self.ctx.bot_user_id)
        entry["count"] = len(entry["users"])
        return {}

    def _reactions_remove(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ch = self._api_channel(params.get("channel"))
        msg = self._find_message(ch, params.get("timestamp"))
        if msg is None:
            raise ApiError("message_not_found")
        name = str(params.get("name") or "").strip(":")
        entry = next((r for r in msg.get("reactions", []) if r["name"] == name), None)
        if entry is None or self.ctx.bot_user_id not in entry["users"]:
            raise ApiError("no_reaction")
        entry["users"].remove(self.ctx.bot_user_id)
        entry["count"] = len(entry["users"])
        if not entry["users"]:
            msg["reactions"].remove(entry)
        if not msg.get("reactions"):
            msg.pop("reactions", None)
        return {}

    # ------------------------------------------------------------------ internals: content validation

    def _message_content(self, params: dict[str, Any], *, for_update: bool = False) -> dict[str, Any]:
        """Validate text/blocks/attachments/metadata as chat.* methods do; returns the parsed fields."""
        out: dict[str, Any] = {}
        if "text" in params and params["text"] is not None:
            out["text"] = str(params["text"])
        for key, parse in (
            ("blocks", self._parse_blocks),
            ("attachments", self._parse_attachments),
            ("metadata", self._parse_metadata),
        ):
            if key in params and params[key] not in (None, ""):
                out[key] = parse(params)
        has_content = bool(out.get("text")) or bool(out.get("blocks")) or bool(out.get("attachments"))
        if not has_content and not (for_update and "blocks" in out):
            raise ApiError("no_text")
        if len(out.get("text", "")) > MAX_TEXT:
            raise ApiError("msg_too_long")
        if out.get("blocks"):
            out["blocks"] = self._checked_blocks(out["blocks"])
        return out

    def _parse_blocks(self, params: dict[str, Any]) -> list[Any]:
        blocks = self._json_param(params, "blocks")
        if not isinstance(blocks, list):
            raise ApiError("invalid_blocks_format")
        return blocks

    def _parse_attachments(self, params: dict[str, Any]) -> list[Any]:
        attachments = self._json_param(params, "attachments")
        if not isinstance(attachments, list):
            raise ApiError("invalid_attachments")
        if len(attachments) > 100:
            raise ApiError("too_many_attachments")
        return attachments

    def _parse_metadata(self, params: dict[str, Any]) -> dict[str, Any]:
        """Message metadata: an event_type string, an optional event_payload object, at most 8 kB."""
        metadata = self._json_param(params, "metadata")
        if (
            not isinstance(metadata, dict)
            or not isinstance(metadata.get("event_type"), str)
            or not isinstance(metadata.get("event_payload", {}), dict)
        ):
            raise ApiError("invalid_metadata_format")
        if len(json.dumps(metadata)) > 8000:
            raise ApiError("metadata_too_large")
        return metadata

    def _checked_blocks(self, blocks: list[Any]) -> list[dict[str, Any]]:
        """Blocks as Slack stores them, or ``invalid_blocks`` with one message per problem."""
        errors = validate_blocks(blocks, surface="message")
        if errors:
            raise ApiError(
                "invalid_blocks",
                errors=errors,
                response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
            )
        return normalize_blocks(blocks, self._rng)
