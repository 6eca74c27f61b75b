"""``conversations.*``: info, list, history, replies, members and open (DMs and group DMs).
Strict about visibility (a private channel the bot is not in does not exist for it, and
history needs membership), about pagination as Slack does it (opaque cursors,
``invalid_cursor``, limits clamped to each method's maximum, ``oldest``/``latest``/
``inclusive`` ranges, newest first for history), about metadata (only with
``include_all_metadata``), about whom a DM can be opened with (``user_disabled`` for a
deactivated account, ``cannot_dm_bot`` for another bot), about scopes by conversation type
(``channels:history`` for a public channel's history, ``im:history`` for a DM's, ``im:write``
to open a DM...), and, for non-Marketplace apps, about Slack's 2025 cap of 15 messages per
history/replies page.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from .core import (
    NON_MARKETPLACE_HISTORY_MAX_LIMIT,
    ApiError,
    Channel,
    EmulatorBase,
    _bool,
    _ts_key,
)
from .scopes import LIST_TYPES, conversation_scope


class ConversationsApi(EmulatorBase):
    """``conversations.*`` Web API methods."""

    # ------------------------------------------------------------------ Web API: conversations.*

    def _channel_object(self, ch: Channel, *, num_members: bool = False) -> dict[str, Any]:
        if ch.is_im:
            return {
                "id": ch.id,
                "created": ch.created,
                "is_archived": False,
                "is_im": True,
                "is_org_shared": False,
                "context_team_id": self.ctx.team_id,
                "updated": ch.created * 1000,
                "user": ch.user,
                "is_user_deleted": False,
                "priority": 0,
            }
        obj: dict[str, Any] = {
            "id": ch.id,
            "name": ch.name,
            "is_channel": not ch.is_private and not ch.is_mpim,
            "is_group": ch.is_private and not ch.is_mpim,
            "is_im": False,
            "is_mpim": ch.is_mpim,
            "is_private": ch.is_private,
            "created": ch.created,
            "is_archived": ch.is_archived,
            "is_general": False,
            "unlinked": 0,
            "name_normalized": ch.name,
            "is_shared": False,
            "is_org_shared": False,
            "is_pending_ext_shared": False,
            "pending_shared": [],
            "context_team_id": self.ctx.team_id,
            "updated": ch.created * 1000,
            "parent_conversation": None,
            "creator": self.ctx.bot_user_id,
            "is_ext_shared": False,
            "shared_team_ids": [self.ctx.team_id],
            "pending_connected_team_ids": [],
            "is_member": self.ctx.bot_user_id in ch.members,
            "topic": {"value": ch.topic, "creator": "", "last_set": 0},
            "purpose": {"value": ch.purpose, "creator": "", "last_set": 0},
            "previous_names": [],
        }
        if num_members:
            obj["num_members"] = len(ch.members)
        return obj

    def _conversations_info(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ch = self._api_channel(params.get("channel"))
        self._require_scope("conversations.info", ch)
        return {"channel": self._channel_object(ch, num_members=_bool(params.get("include_num_members")))}

    def _conversations_list(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        types = str(params.get("types") or "public_channel").split(",")
        for kind in types:
            if kind in LIST_TYPES:
                self._require(conversation_scope("conversations.list", LIST_TYPES[kind]))
        out = []
        for ch in self._channels.values():
            kind = (
                "im"
                if ch.is_im
                else "mpim"
                if ch.is_mpim
                else "private_channel"
                if ch.is_private
                else "public_channel"
            )
            if kind not in types or (ch.is_private and self.ctx.bot_user_id not in ch.members):
                continue
            if _bool(params.get("exclude_archived")) and ch.is_archived:
                continue
            out.append(self._channel_object(ch))
        return self._paginate(out, params, "channels")

    def _conversations_history(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ch = self._api_channel(params.get("channel"), need_member=True)
        self._require_scope("conversations.history", ch)
        top = [m for m in ch.messages if self._is_top_level(m)]
        result = self._history_page(top, params, newest_first=True)
        result.update({"pin_count": 0, "channel_actions_ts": None, "channel_actions_count": 0})
        return result

    def _conversations_replies(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ch = self._api_channel(params.get("channel"), need_member=True)
        self._require_scope("conversations.replies", ch)
        ts = params.get("ts")
        if not ts:
            raise ApiError("invalid_arguments")
        msg = self._find_message(ch, ts)
        if msg is None:
            raise ApiError("thread_not_found")
        if msg.get("thread_ts") and msg["thread_ts"] != msg["ts"]:
            thread = [msg]
        else:
            thread = [m for m in ch.messages if m["ts"] == msg["ts"] or m.get("thread_ts") == msg["ts"]]
        return self._history_page(thread, params, newest_first=False)

    def _conversations_members(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ch = self._api_channel(params.get("channel"))
        self._require_scope("conversations.members", ch)
        return self._paginate(list(ch.members), params, "members")

    def _conversations_open(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        if params.get("channel"):
            ch = self._api_channel(params.get("channel"))
            if ch.channel_type not in ("im", "mpim"):
                raise ApiError("method_not_supported_for_channel_type")
            self._require_scope("conversations.open", ch)
            return {"channel": {"id": ch.id}, "no_op": True, "already_open": True}
        users = [u for u in str(params.get("users") or "").split(",") if u]
        if not users:
            raise ApiError("users_list_not_supplied")
        self._require(conversation_scope("conversations.open", "mpim" if len(users) > 1 else "im"))
        for u in users:
            self._check_dm_user(u)
        if len(users) > 1:
            members = sorted({*users, self.ctx.bot_user_id})
            for ch in self._channels.values():
                if ch.is_mpim and sorted(ch.members) == members:
                    return {"channel": {"id": ch.id}, "no_op": True, "already_open": True}
            cid = self._new_id("G")
            name = "mpdm-" + "--".join(self._users[u]["name"] for u in members) + "-1"
            self._channels[cid] = Channel(id=cid, name=name, members=members, is_private=True, is_mpim=True)
            return {"channel": {"id": cid}}
        existed = any(c.is_im and c.user == users[0] for c in self._channels.values())
        ch = self._im_for(users[0])
        out: dict[str, Any] = {
            "channel": self._channel_object(ch) if _bool(params.get("return_im")) else {"id": ch.id}
        }
        if existed:
            out.update({"no_op": True, "already_open": True})
        return out

    def _check_dm_user(self, user: str) -> None:
        """Slack's refusals of a DM partner: unknown, deactivated, or another app's bot."""
        if user not in self._users:
            raise ApiError("user_not_found")
        if self._users[user].get("deleted"):
            raise ApiError("user_disabled")
        if self._users[user].get("is_bot") and user != self.ctx.bot_user_id:
            raise ApiError("cannot_dm_bot")

    # ------------------------------------------------------------------ pagination

    def _paginate(
        self,
        items: list[Any],
        params: dict[str, Any],
        key: str,
        *,
        default_limit: int = 100,
        max_limit: int = 1000,
    ) -> dict[str, Any]:
        limit = self._limit(params, default_limit, max_limit)
        start = 0
        cursor = params.get("cursor")
        if cursor:
            try:
                start = int(json.loads(base64.b64decode(str(cursor)).decode())["offset"])
            except Exception:
                raise ApiError("invalid_cursor") from None
        page = items[start : start + limit]
        nxt = ""
        if start + limit < len(items):
            nxt = base64.b64encode(json.dumps({"offset": start + limit}).encode()).decode()
        return {key: page, "response_metadata": {"next_cursor": nxt}}

    @staticmethod
    def _limit(params: dict[str, Any], default: int, maximum: int) -> int:
        try:
            limit = int(params.get("limit") or default)
        except (TypeError, ValueError):
            raise ApiError("invalid_limit") from None
        return max(1, min(limit, maximum))

    def _history_page(
        self, msgs: list[dict[str, Any]], params: dict[str, Any], *, newest_first: bool, key: str = "messages"
    ) -> dict[str, Any]:
        include_metadata = _bool(params.get("include_all_metadata"))
        inclusive = _bool(params.get("inclusive"))
        oldest = params.get("oldest")
        latest = params.get("latest")

        def in_range(m: dict[str, Any]) -> bool:
            k = _ts_key(m["ts"])
            if oldest not in (None, "", "0"):
                o = _ts_key(str(oldest))
                if k < o or (k == o and not inclusive):
                    return False
            if latest not in (None, ""):
                lt = _ts_key(str(latest))
                if k > lt or (k == lt and not inclusive):
                    return False
            return True

        selected = [m for m in msgs if in_range(m)]
        if newest_first:
            selected = list(reversed(selected))
        max_limit = NON_MARKETPLACE_HISTORY_MAX_LIMIT if self.non_marketplace else 999
        default = NON_MARKETPLACE_HISTORY_MAX_LIMIT if self.non_marketplace else 100
        limit = self._limit(params, default, max_limit)
        start = 0
        cursor = params.get("cursor")
        if cursor:
            try:
                decoded = base64.b64decode(str(cursor)).decode()
                assert decoded.startswith("next_ts:")
                ts_raw = decoded.split(":", 1)[1]
                target = f"{ts_raw[:-6]}.{ts_raw[-6:]}"
                start = next(i for i, m in enumerate(selected) if m["ts"] == target)
            except Exception:
                raise ApiError("invalid_cursor") from None
        page = selected[start : start + limit]
        has_more = start + limit < len(selected)
        nxt = ""
        if has_more:
            nxt = base64.b64encode(
                f"next_ts:{selected[start + limit]['ts'].replace('.', '')}".encode()
            ).decode()
        return {
            key: [self._render(m, include_metadata=include_metadata) for m in page],
            "has_more": has_more,
            "response_metadata": {"next_cursor": nxt},
        }
