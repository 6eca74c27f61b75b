"""``users.*`` and ``usergroups.*``, and the workspace set-up tests use (users, channels,
usergroups, membership, DMs).  Strict about unknown users (``user_not_found``) and
usergroups (``no_such_subteam``, ``invalid_arguments`` without one), paginates
``users.list``, includes usergroup members and counts only when asked, and delivers
``member_joined_channel`` only when Slack would: the bot is in the channel, subscribed to
the event, and the app is reachable.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable
from typing import Any

from . import payloads
from .core import ApiError, Channel, Delivery, EmulatorBase, _bool


class UsersApi(EmulatorBase):
    """``users.*`` and ``usergroups.*`` Web API methods, and workspace set-up."""

    # ------------------------------------------------------------------ workspace state

    def add_user(
        self,
        id: str,
        name: str,
        *,
        real_name: str | None = None,
        is_bot: bool = False,
        email: str | None = None,
        tz: str = "UTC",
        is_admin: bool = False,
        deleted: bool = False,
    ) -> dict[str, Any]:
        with self._lock:
            user: dict[str, Any] = {
                "id": id,
                "team_id": self.ctx.team_id,
                "name": name,
                "deleted": deleted,
                "real_name": real_name or name,
                "tz": tz,
                "tz_label": tz,
                "tz_offset": 0,
                "profile": {
                    "real_name": real_name or name,
                    "display_name": name,
                    "real_name_normalized": real_name or name,
                    "display_name_normalized": name,
                    "team": self.ctx.team_id,
                    **({"email": email} if email else {}),
                },
                "is_admin": is_admin,
                "is_owner": False,
                "is_bot": is_bot,
                "is_app_user": False,
                "updated": int(time.time()),
            }
            if is_bot and id == self.ctx.bot_user_id:
                user["profile"]["bot_id"] = self.ctx.bot_id
                user["profile"]["api_app_id"] = self.ctx.api_app_id
            self._users[id] = user
            return copy.deepcopy(user)

    def add_channel(
        self,
        id: str,
        name: str,
        members: Iterable[str] = (),
        *,
        is_private: bool = False,
        bot_member: bool = True,
        is_archived: bool = False,
    ) -> None:
        """Create a channel; unknown member ids become users named after their id."""
        with self._lock:
            mem: list[str] = []
            for m in members:
                if m not in self._users:
                    self.add_user(m, m.lower())
                if m not in mem:
                    mem.append(m)
            if bot_member and self.ctx.bot_user_id not in mem:
                mem.append(self.ctx.bot_user_id)
            self._channels[id] = Channel(
                id=id, name=name, members=mem, is_private=is_private, is_archived=is_archived
            )

    def add_usergroup(self, id: str, handle: str, users: Iterable[str], *, name: str | None = None) -> None:
        with self._lock:
            now = int(time.time())
            self._usergroups[id] = {
                "id": id,
                "team_id": self.ctx.team_id,
                "is_usergroup": True,
                "is_subteam": True,
                "name": name or handle,
                "description": "",
                "handle": handle,
                "is_external": False,
                "date_create": now,
                "date_update": now,
                "date_delete": 0,
                "auto_type": None,
                "created_by": self.ctx.bot_user_id,
                "updated_by": self.ctx.bot_user_id,
                "deleted_by": None,
                "prefs": {"channels": [], "groups": []},
                "users": list(users),
                "user_count": len(list(users)),
            }

    def deactivate_user(self, id: str) -> None:
        """The account is deactivated: ``deleted`` in ``users.info``, no DM can be opened with it."""
        with self._lock:
            self._users[id]["deleted"] = True

    def set_usergroup_users(self, id: str, users: Iterable[str]) -> None:
        with self._lock:
            group = self._usergroups[id]
            group["users"] = list(users)
            group["user_count"] = len(group["users"])

    def join_channel(self, user: str, channel: str, *, notify: bool = True) -> Delivery | None:
        """Add a member (the bot included); delivers member_joined_channel like Slack does."""
        with self._lock:
            ch = self._require_channel(channel)
            if user not in self._users:
                self.add_user(user, user.lower())
            if user not in ch.members:
                ch.members.append(user)
            event = payloads.member_joined_channel_event(
                user_id=user,
                channel=ch.id,
                channel_type=ch.channel_type[0].upper(),
                team=self.ctx.team_id,
                event_ts=self._next_ts(),
            )
            bot_in = self.ctx.bot_user_id in ch.members
        if (
            notify
            and bot_in
            and "member_joined_channel" in self.event_subscriptions
            and self._app_reachable()
        ):
            return self._deliver_event(event)
        return None

    def leave_channel(self, user: str, channel: str) -> None:
        with self._lock:
            ch = self._require_channel(channel)
            if user in ch.members:
                ch.members.remove(user)

    def add_dm(self, user: str, other: str) -> str:
        """A direct message between two people (the bot not in it, so it cannot see it); its id."""
        with self._lock:
            for u in (user, other):
                if u not in self._users:
                    self.add_user(u, u.lower())
            cid = self._new_id("D")
            self._channels[cid] = Channel(
                id=cid, name=cid, members=[user, other], is_im=True, is_private=True
            )
            return cid

    def add_group_dm(self, users: Iterable[str]) -> str:
        """A group direct message between people (the bot not in it); its id, a G… as Slack gives."""
        with self._lock:
            members = list(dict.fromkeys(users))
            for u in members:
                if u not in self._users:
                    self.add_user(u, u.lower())
            cid = self._new_id("G")
            name = "mpdm-" + "--".join(self._users[u]["name"] for u in members) + "-1"
            self._channels[cid] = Channel(id=cid, name=name, members=members, is_private=True, is_mpim=True)
            return cid

    def dm_channel(self, user: str) -> str:
        """Id of the app's DM with ``user`` (created on first use, like conversations.open)."""
        with self._lock:
            return self._im_for(user).id

    # ------------------------------------------------------------------ Web API: users.* and usergroups.*

    def _users_info(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        user = self._users.get(str(params.get("user") or ""))
        if user is None:
            raise ApiError("user_not_found")
        return {"user": copy.deepcopy(user)}

    def _users_list(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        result = self._paginate([copy.deepcopy(u) for u in self._users.values()], params, "members")
        result["cache_ts"] = int(time.time())
        return result

    def _usergroups_list(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        out = []
        for g in self._usergroups.values():
            item = copy.deepcopy(g)
            if not _bool(params.get("include_users")):
                item.pop("users", None)
            if not _bool(params.get("include_count")):
                item.pop("user_count", None)
            out.append(item)
        return {"usergroups": out}

    def _usergroups_users_list(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        gid = params.get("usergroup")
        if not gid:
            raise ApiError("invalid_arguments")
        group = self._usergroups.get(str(gid))
        if group is None:
            raise ApiError("no_such_subteam")
        return {"users": list(group["users"])}
