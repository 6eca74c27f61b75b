"""``views.*``: modals (``views.open``, ``views.push``, ``views.update``) and App Home
(``views.publish``).  Strict about trigger_ids (issued by a user action, single use, valid
for 3 seconds: ``invalid_trigger_id``, ``exchanged_trigger_id``, ``expired_trigger_id``),
the modal stack (at most 3 views: ``push_limit_reached``), view validation
(``invalid_arguments`` with JSON-pointer messages, the right view type for each method),
``hash`` conflicts, and ``external_id`` unique among open views; like Slack, an update keeps
what the user typed into inputs that survive it.
"""

from __future__ import annotations

import copy
import json
import secrets
import time
from typing import Any

from .blockkit import normalize_blocks, validate_view
from .core import MAX_VIEW_STACK, ApiError, EmulatorBase


class ViewsApi(EmulatorBase):
    """``views.*`` Web API methods: modals and App Home."""

    # ------------------------------------------------------------------ Web API: views.*

    def _views_open(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        if "view" not in params:
            raise ApiError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: view"]}
            )
        user = self._consume_trigger(params.get("trigger_id"))
        view = self._build_view(params["view"], user=user, expect="modal")
        for vid in self._view_stacks.get(user, []):
            self._views[vid]["open"] = False
        self._view_stacks[user] = [view["id"]]
        self._views[view["id"]] = {"view": view, "user": user, "open": True, "errors": {}}
        return {"view": copy.deepcopy(view)}

    def _views_push(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        if "view" not in params:
            raise ApiError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: view"]}
            )
        user = self._consume_trigger(params.get("trigger_id"))
        stack = self._view_stacks.get(user) or []
        if not stack:
            raise ApiError("not_found")
        if len(stack) >= MAX_VIEW_STACK:
            raise ApiError("push_limit_reached")
        view = self._build_view(
            params["view"], user=user, expect="modal", root_view_id=stack[0], previous_view_id=stack[-1]
        )
        stack.append(view["id"])
        self._views[view["id"]] = {"view": view, "user": user, "open": True, "errors": {}}
        return {"view": copy.deepcopy(view)}

    def _views_update(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        if "view" not in params:
            raise ApiError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: view"]}
            )
        rec = None
        if params.get("view_id"):
            rec = self._views.get(str(params["view_id"]))
        elif params.get("external_id"):
            rec = next(
                (
                    r
                    for r in self._views.values()
                    if r["view"].get("external_id") == params["external_id"] and r["open"]
                ),
                None,
            )
        else:
            raise ApiError(
                "invalid_arguments",
                response_metadata={"messages": ["[ERROR] must provide either view_id or external_id"]},
            )
        if rec is None or not rec["open"]:
            raise ApiError("not_found")
        old = rec["view"]
        if params.get("hash") and params["hash"] != old["hash"]:
            raise ApiError("hash_conflict")
        view = self._build_view(
            params["view"],
            user=rec["user"],
            view_id=old["id"],
            previous=old,
            root_view_id=old["root_view_id"],
            previous_view_id=old["previous_view_id"],
            expect=old["type"],
        )
        rec["view"] = view
        rec["errors"] = {}
        return {"view": copy.deepcopy(view)}

    def _views_publish(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        user = params.get("user_id")
        if not user or user not in self._users:
            raise ApiError("user_not_found")
        if "view" not in params:
            raise ApiError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: view"]}
            )
        vid = self._homes.get(user)
        old = self._views[vid]["view"] if vid else None
        if old is not None and params.get("hash") and params["hash"] != old["hash"]:
            raise ApiError("hash_conflict")
        view = self._build_view(params["view"], user=user, view_id=vid, previous=old, expect="home")
        self._homes[user] = view["id"]
        self._views[view["id"]] = {"view": view, "user": user, "open": True, "errors": {}}
        return {"view": copy.deepcopy(view)}

    # ------------------------------------------------------------------ internals: view records

    def _build_view(
        self,
        raw: Any,
        *,
        user: str,
        view_id: str | None = None,
        previous: dict[str, Any] | None = None,
        root_view_id: str | None = None,
        previous_view_id: str | None = None,
        expect: str | None = None,
    ) -> dict[str, Any]:
        raw = self._valid_view_object(raw, expect)
        vid = view_id or self._new_id("V", 10)
        blocks = normalize_blocks(raw.get("blocks") or [], self._rng)
        ext = raw.get("external_id", "") or ""
        if ext:
            self._check_external_id_free(ext, vid)
        view: dict[str, Any] = {
            "id": vid,
            "team_id": self.ctx.team_id,
            "type": raw["type"],
            "blocks": blocks,
            "private_metadata": raw.get("private_metadata", "") or "",
            "callback_id": raw.get("callback_id", "") or "",
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "title": copy.deepcopy(raw.get("title")),
            "clear_on_close": bool(raw.get("clear_on_close", False)),
            "notify_on_close": bool(raw.get("notify_on_close", False)),
            "close": copy.deepcopy(raw.get("close")),
            "submit": copy.deepcopy(raw.get("submit")),
            "previous_view_id": previous_view_id,
            "root_view_id": root_view_id or vid,
            "app_id": self.ctx.api_app_id,
            "external_id": ext,
            "app_installed_team_id": self.ctx.team_id,
            "bot_id": self.ctx.bot_id,
        }
        for key in ("title", "close", "submit"):
            if view[key] is not None:
                view[key].setdefault("emoji", True)
        if raw["type"] == "home":
            for key in ("title", "close", "submit", "clear_on_close", "notify_on_close"):
                view.pop(key, None)
        view["state"]["values"] = self._surviving_state(blocks, previous)
        return view

    @staticmethod
    def _valid_view_object(raw: Any, expect: str | None) -> dict[str, Any]:
        """The view object from a ``view`` argument (JSON text or already parsed), or
        ``invalid_arguments`` with Slack's messages when it is not a valid view of type ``expect``."""
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                raise ApiError(
                    "invalid_arguments",
                    response_metadata={
                        "messages": ["[ERROR] must be a valid JSON object [json-pointer:/view]"]
                    },
                ) from None
        errors = validate_view(raw)
        if not errors and expect and raw.get("type") != expect:
            errors = [f"must be {expect} [json-pointer:/view/type]"]
        if errors:
            raise ApiError(
                "invalid_arguments", response_metadata={"messages": [f"[ERROR] {e}" for e in errors]}
            )
        return raw

    def _check_external_id_free(self, ext: str, vid: str) -> None:
        """An external_id may name only one open view (the view being replaced excepted)."""
        for other_id, rec in self._views.items():
            if other_id != vid and rec["view"].get("external_id") == ext and rec["open"]:
                raise ApiError("duplicate_external_id")

    def _surviving_state(
        self, blocks: list[dict[str, Any]], previous: dict[str, Any] | None
    ) -> dict[str, dict[str, Any]]:
        """Initial input state for ``blocks``, keeping what the user typed into inputs that survive
        an update (Slack does the same)."""
        fresh = self._initial_state(blocks)
        old = (previous or {}).get("state", {}).get("values", {})
        for bid, by_action in fresh.items():
            for aid in by_action:
                if aid in old.get(bid, {}):
                    fresh[bid][aid] = old[bid][aid]
        return {
            bid: v
            for bid, v in fresh.items()
            if any(b.get("block_id") == bid and b.get("type") == "input" for b in blocks) or bid in old
        }
