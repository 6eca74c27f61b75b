"""What people do in Slack, and how Slack applies the app's answers: clicking elements of
messages, ephemeral messages, modals and App Home; filling, submitting and closing modals;
slash commands; posting, editing and deleting messages; opening App Home.  Strict as
Slack's client is: only elements that are there and that the user can see (the top modal
only; input blocks only with ``dispatch_action``), no submission with required inputs
empty, payloads built from what the app really posted, with fresh trigger_ids and
response_urls; response_urls work for 30 minutes and 5 uses, and ``response_action``
answers (errors, update, push, clear) are checked and applied as Slack does.
"""

from __future__ import annotations

import copy
import json
import time
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from . import payloads
from .blockkit import INTERACTIVE_TYPES, iter_interactive_elements
from .core import MAX_VIEW_STACK, ApiError, Channel, Delivery, EmulatorBase, _bool


class UserActions(EmulatorBase):
    """What people do in Slack, and Slack applying the app's answers."""

    # ------------------------------------------------------------------ user actions (Slack -> app)

    def click(
        self,
        user: str,
        channel: str,
        ts: str,
        action_id: str,
        value: Any = None,
        option_value: str | None = None,
        *,
        block_id: str | None = None,
        option_values: list[str] | None = None,
    ) -> Delivery:
        """``user`` uses the element ``action_id`` on message ``ts`` (channel or own ephemeral message).

        ``value`` picks among same-id buttons by their value (or is the input for dates, user
        pickers, text inputs); ``option_value(s)`` choose select/radio/checkbox/overflow options,
        which must exist in the element.  Raises LookupError if the element isn't there.
        """
        with self._lock:
            if user not in self._users:
                raise LookupError(f"unknown user {user}")
            ch = self._require_channel(channel)
            msg = self._find_message(ch, ts)
            ephemeral = None
            if msg is None:
                ephemeral = next(
                    (
                        e
                        for e in self._ephemerals
                        if e["channel"] == ch.id and e["ts"] == ts and e["recipient"] == user
                    ),
                    None,
                )
                if ephemeral is None:
                    raise LookupError(f"no message {ts} in {ch.id} visible to {user}")
                blocks = ephemeral.get("blocks") or []
            else:
                if ch.is_private and user not in ch.members:
                    raise LookupError(f"{user} cannot see private channel {ch.id}")
                blocks = msg.get("blocks") or []
            block, element = self._find_element(blocks, action_id, block_id, value)
            picked = (
                option_values
                if option_values is not None
                else (option_value if option_value is not None else value)
            )
            action = payloads.action(element, block["block_id"], self._action_ts(), value=picked)
            state_key = (ch.id, ts, user)
            state = self._msg_state.setdefault(state_key, self._initial_state(blocks))
            if element.get("type") in INTERACTIVE_TYPES - {"button", "overflow", "workflow_button"}:
                state.setdefault(block["block_id"], {})[element["action_id"]] = payloads.state_value(
                    element, picked
                )
            is_eph = ephemeral is not None
            thread_ts = (msg or ephemeral or {}).get("thread_ts")
            response_url = self._issue_response_url(
                "actions", channel=ch.id, user=user, message_ts=ts, is_ephemeral=is_eph, thread_ts=thread_ts
            )
            payload = payloads.block_actions(
                self.ctx,
                user_id=user,
                user_name=self._users[user]["name"],
                actions=[action],
                trigger_id=self._issue_trigger(user),
                container={"type": "message", "message_ts": ts, "channel_id": ch.id, "is_ephemeral": is_eph},
                channel={"id": ch.id, "name": self._channel_display_name(ch)},
                message=None if is_eph else self._render(msg, include_metadata=False),
                state_values=copy.deepcopy(state),
                response_url=response_url,
            )
        return self._deliver("interactive", payload)

    def click_in_view(
        self,
        user: str,
        view_id: str,
        action_id: str,
        value: Any = None,
        option_value: str | None = None,
        *,
        block_id: str | None = None,
        option_values: list[str] | None = None,
    ) -> Delivery:
        """Like ``click`` but on an element of an open modal or the user's App Home."""
        with self._lock:
            rec = self._open_view_record(user, view_id)
            stack = self._view_stacks.get(user, [])
            if rec["view"]["type"] == "modal" and (not stack or stack[-1] != view_id):
                raise LookupError(f"{view_id} is covered by a pushed view; only the top modal is interactive")
            view = rec["view"]
            block, element = self._find_element(view.get("blocks") or [], action_id, block_id, value)
            picked = (
                option_values
                if option_values is not None
                else (option_value if option_value is not None else value)
            )
            action = payloads.action(element, block["block_id"], self._action_ts(), value=picked)
            if element.get("type") in INTERACTIVE_TYPES - {"button", "overflow", "workflow_button"}:
                view["state"]["values"].setdefault(block["block_id"], {})[element["action_id"]] = (
                    payloads.state_value(element, picked)
                )
            payload = payloads.block_actions(
                self.ctx,
                user_id=user,
                user_name=self._users[user]["name"],
                actions=[action],
                trigger_id=self._issue_trigger(user),
                container={"type": "view", "view_id": view_id},
                view=copy.deepcopy(view),
            )
        return self._deliver("interactive", payload)

    def fill_view(self, user: str, view_id: str, values: dict[str, dict[str, Any]]) -> None:
        """Type into a modal's inputs without submitting (no payload is sent, as in Slack)."""
        with self._lock:
            rec = self._open_view_record(user, view_id)
            self._apply_values(rec["view"], values)

    def submit_view(
        self, user: str, view_id: str, values: dict[str, dict[str, Any]] | None = None
    ) -> Delivery:
        """Submit the user's top modal with input ``values`` ({block_id: {action_id: value}}).

        Values may be plain (text, option value, list of option values) or state-shaped dicts.
        Required inputs left empty raise ValueError (Slack's client refuses to submit).  The
        app's ``response_action`` (errors/update/push/clear) is applied; an empty ack closes
        the view.  Returns the Delivery (``body`` = ack body, ``error`` if Slack would complain).
        """
        with self._lock:
            rec = self._open_view_record(user, view_id)
            view = rec["view"]
            if view.get("type") != "modal":
                raise ValueError("only modals can be submitted")
            stack = self._view_stacks.get(user, [])
            if not stack or stack[-1] != view_id:
                raise ValueError(f"{view_id} is not the top-most modal for {user}")
            if not view.get("submit"):
                raise ValueError(f"{view_id} has no submit button")
            if values:
                self._apply_values(view, values)
            missing = self._missing_required(view)
            if missing:
                raise ValueError(f"required inputs are empty: {missing}")
            rec["errors"] = {}
            payload = payloads.view_submission(
                self.ctx,
                user_id=user,
                user_name=self._users[user]["name"],
                view=copy.deepcopy(view),
                trigger_id=self._issue_trigger(user),
            )
        delivery = self._deliver("interactive", payload, accepts_response_payload=True)
        self._apply_submission_ack(user, view_id, delivery)
        return delivery

    def close_view(self, user: str, view_id: str) -> Delivery | None:
        """The user closes (cancels) a modal; view_closed is sent only if ``notify_on_close``."""
        with self._lock:
            rec = self._open_view_record(user, view_id)
            view = copy.deepcopy(rec["view"])
            stack = self._view_stacks.get(user, [])
            if view_id in stack:
                idx = stack.index(view_id)
                for vid in stack[idx:]:
                    self._views[vid]["open"] = False
                del stack[idx:]
            notify = bool(view.get("notify_on_close"))
            if notify:
                payload = payloads.view_closed(
                    self.ctx, user_id=user, user_name=self._users[user]["name"], view=view, is_cleared=False
                )
        return self._deliver("interactive", payload) if notify else None

    def slash_command(self, user: str, channel: str, command: str, text: str = "") -> Delivery:
        """The user runs ``command`` in ``channel``; an ack body (text/blocks) is shown like Slack does."""
        with self._lock:
            if user not in self._users:
                raise LookupError(f"unknown user {user}")
            ch = self._require_channel(channel)
            form = payloads.slash_command(
                self.ctx,
                user_id=user,
                user_name=self._users[user]["name"],
                channel_id=ch.id,
                channel_name=self._channel_display_name(ch),
                command=command if command.startswith("/") else "/" + command,
                text=text,
                response_url=self._issue_response_url(
                    "commands", channel=ch.id, user=user, message_ts=None, is_ephemeral=False, thread_ts=None
                ),
                trigger_id=self._issue_trigger(user),
            )
        delivery = self._deliver("slash_commands", form, accepts_response_payload=True)
        body = delivery.body
        if delivery.acked and body:
            message = body if isinstance(body, dict) else {"text": str(body)}
            if message.get("text") or message.get("blocks"):
                try:
                    self._post_response(ch.id, user, None, False, None, message, source="slash_ack")
                except ApiError as exc:
                    delivery.error = exc.error
        return delivery

    def message_shortcut(self, user: str, channel: str, ts: str, callback_id: str) -> Delivery:
        """``user`` picks the app's message shortcut ``callback_id`` in the menu of message ``ts``.

        As in Slack's client: only a shortcut the app declares (``message_shortcuts``, from its
        manifest), only on a message the user can see (any public channel's; a private channel's,
        a DM's or a group DM's only as one of its members). The app gets a ``message_action``
        payload with the whole message, a fresh trigger_id and a response_url.
        """
        with self._lock:
            if user not in self._users:
                raise LookupError(f"unknown user {user}")
            if callback_id not in self.message_shortcuts:
                raise LookupError(
                    f"the app has no message shortcut {callback_id!r}; "
                    f"it has {sorted(self.message_shortcuts)}"
                )
            ch = self._require_channel(channel)
            if ch.is_private and user not in ch.members:
                raise LookupError(f"{user} cannot see {ch.id}")
            msg = self._find_message(ch, ts)
            if msg is None or msg.get("subtype") == "tombstone":
                raise LookupError(f"no message {ts} in {ch.id}")
            payload = payloads.message_action(
                self.ctx,
                user_id=user,
                user_name=self._users[user]["name"],
                callback_id=callback_id,
                trigger_id=self._issue_trigger(user),
                action_ts=self._action_ts(),
                channel={"id": ch.id, "name": self._channel_display_name(ch)},
                message=self._render(msg, include_metadata=False),
                response_url=self._issue_response_url(
                    "actions", channel=ch.id, user=user, message_ts=ts, is_ephemeral=False, thread_ts=None
                ),
            )
        return self._deliver("interactive", payload)

    def user_posts(
        self,
        user: str,
        channel: str,
        text: str,
        thread_ts: str | None = None,
        *,
        blocks: list[dict[str, Any]] | None = None,
        files: list[str] | None = None,
        attachments: list[dict[str, Any]] | None = None,
        deliver: bool = True,
    ) -> Delivery | None:
        """A human posts; the message is stored and a ``message`` event delivered if the app would get one.

        Returns the Delivery (``.ts`` is the new message's ts), or None when Slack would not send
        an event (app not in the channel or not subscribed).  The ts is then in ``emu.messages``.
        ``deliver=False`` only stores the message (to seed history before the app runs).
        ``files`` (names) shares files with the message; ``attachments`` are legacy attachments.
        """
        with self._lock:
            ch = self._require_channel(channel)
            if user not in self._users:
                raise LookupError(f"unknown user {user}")
            if user not in ch.members:
                raise LookupError(f"{user} is not a member of {ch.id}")
            parent = None
            if thread_ts:
                parent = self._find_message(ch, thread_ts)
                if parent is None:
                    raise LookupError(f"no thread {thread_ts} in {ch.id}")
                thread_ts = parent.get("thread_ts", parent["ts"])
            msg = payloads.user_message(
                self.ctx,
                user_id=user,
                text=text,
                ts=self._next_ts(),
                thread_ts=thread_ts,
                parent_user_id=parent.get("user") if parent else None,
                blocks=blocks,
                files=[
                    payloads.shared_file(self._new_id("F"), name, user_id=user, created=int(time.time()))
                    for name in files or []
                ],
                attachments=attachments,
            )
            self._store_message(ch, msg)
            send_message = deliver and self._wants_message_event(ch)
            mention = deliver and (
                f"<@{self.ctx.bot_user_id}>" in text
                and "app_mention" in self.event_subscriptions
                and self.ctx.bot_user_id in ch.members
            )
            event = payloads.message_event(msg, channel=ch.id, channel_type=ch.channel_type)
            mention_event = payloads.app_mention_event(msg, channel=ch.id) if mention else None
        result = None
        if send_message:
            result = self._deliver_event(event)
            result.ts = msg["ts"]
        if mention_event is not None:
            d = self._deliver_event(mention_event)
            d.ts = msg["ts"]
            result = result or d
        return result

    def user_edits(self, user: str, channel: str, ts: str, text: str) -> Delivery | None:
        """A human edits their message; delivers ``message_changed``."""
        with self._lock:
            ch = self._require_channel(channel)
            msg = self._find_message(ch, ts)
            if msg is None or msg.get("user") != user or msg.get("bot_id"):
                raise LookupError(f"{user} has no message {ts} in {ch.id}")
            previous = self._render(msg, include_metadata=False)
            msg["text"] = text
            msg["blocks"] = payloads.rich_text_blocks(text)
            event_ts = self._next_ts()
            msg["edited"] = {"user": user, "ts": event_ts}
            event = payloads.message_changed_event(
                self._render(msg, include_metadata=False),
                previous,
                channel=ch.id,
                channel_type=ch.channel_type,
                event_ts=event_ts,
            )
            deliver = self._wants_message_event(ch)
        return self._deliver_event(event) if deliver else None

    def user_deletes(self, user: str, channel: str, ts: str) -> Delivery | None:
        """A human deletes their message; delivers ``message_deleted``."""
        with self._lock:
            ch = self._require_channel(channel)
            msg = self._find_message(ch, ts)
            if msg is None or msg.get("user") != user or msg.get("bot_id"):
                raise LookupError(f"{user} has no message {ts} in {ch.id}")
            previous = self._render(msg, include_metadata=False)
            self._remove_message(ch, msg)
            event = payloads.message_deleted_event(
                previous, channel=ch.id, channel_type=ch.channel_type, event_ts=self._next_ts()
            )
            deliver = self._wants_message_event(ch)
        return self._deliver_event(event) if deliver else None

    def app_home_opened(self, user: str, tab: str = "home") -> Delivery | None:
        with self._lock:
            if user not in self._users:
                raise LookupError(f"unknown user {user}")
            im = self._im_for(user)
            vid = self._homes.get(user)
            view = copy.deepcopy(self._views[vid]["view"]) if vid else None
            event = payloads.app_home_opened_event(
                user_id=user, channel=im.id, event_ts=self._action_ts(), view=view, tab=tab
            )
        if "app_home_opened" not in self.event_subscriptions:
            return None
        return self._deliver_event(event)

    # ------------------------------------------------------------------ internals: what the user sees

    def _find_element(
        self, blocks: list[dict[str, Any]], action_id: str, block_id: str | None, value: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        candidates = []
        for block, el in iter_interactive_elements(blocks):
            if el.get("action_id") != action_id or (
                block_id is not None and block.get("block_id") != block_id
            ):
                continue
            if block.get("type") == "input" and not block.get("dispatch_action"):
                continue  # input blocks only send block_actions with dispatch_action; see fill_view
            candidates.append((block, el))
        if len(candidates) > 1 and value is not None:
            narrowed = [
                (b, e) for b, e in candidates if e.get("type") == "button" and e.get("value") == value
            ]
            candidates = narrowed or candidates
        if not candidates:
            available = sorted({str(e.get("action_id")) for _, e in iter_interactive_elements(blocks)})
            raise LookupError(f"no element {action_id!r} (block_id={block_id!r}); available: {available}")
        if len(candidates) > 1:
            raise LookupError(f"{len(candidates)} elements match {action_id!r}; pass block_id or value")
        block, el = candidates[0]
        if el.get("type") == "button" and value is not None and el.get("value") != value:
            raise LookupError(f"button {action_id!r} has value {el.get('value')!r}, not {value!r}")
        return block, el

    def _open_view_record(self, user: str, view_id: str) -> dict[str, Any]:
        rec = self._views.get(view_id)
        if rec is None:
            raise LookupError(f"unknown view {view_id}")
        if rec["user"] != user:
            raise LookupError(f"view {view_id} belongs to {rec['user']}, not {user}")
        if not rec["open"]:
            raise LookupError(f"view {view_id} is not open")
        if user not in self._users:
            raise LookupError(f"unknown user {user}")
        return rec

    def _apply_values(self, view: dict[str, Any], values: dict[str, dict[str, Any]]) -> None:
        elements = {
            (b.get("block_id"), e.get("action_id")): e for b, e in iter_interactive_elements(view["blocks"])
        }
        for bid, by_action in values.items():
            for aid, raw in by_action.items():
                el = elements.get((bid, aid))
                if el is None:
                    raise LookupError(
                        f"view {view['id']} has no input {bid}/{aid}; has {sorted(map(str, elements))}"
                    )
                view["state"]["values"].setdefault(bid, {})[aid] = payloads.state_value(el, raw)

    @staticmethod
    def _missing_required(view: dict[str, Any]) -> list[str]:
        missing = []
        for block in view.get("blocks") or []:
            if block.get("type") != "input" or block.get("optional"):
                continue
            el = block.get("element") or {}
            entry = view["state"]["values"].get(block.get("block_id"), {}).get(el.get("action_id"), {})
            filled = [v for k, v in entry.items() if k != "type" and v not in (None, "", [], {})]
            if not filled:
                missing.append(f"{block.get('block_id')}/{el.get('action_id')}")
        return missing

    # ------------------------------------------------------------------ response_url & view acks

    def _post_response(
        self,
        channel: str,
        user: str,
        message_ts: str | None,
        is_ephemeral: bool,
        thread_ts: str | None,
        body: dict[str, Any],
        *,
        source: str,
    ) -> dict[str, Any]:
        """Apply a response_url / slash-ack message (replace, delete, in_channel or ephemeral)."""
        with self._lock:
            ch = self._channels[channel]
            if _bool(body.get("delete_original")):
                if message_ts is None:
                    raise ApiError("no_original_message")
                if is_ephemeral:
                    self._delete_ephemeral(channel, user, message_ts)
                else:
                    self._delete_original_message(ch, message_ts)
                return {"action": "deleted", "ts": message_ts}
            content = self._message_content(body)
            if _bool(body.get("replace_original")) and message_ts is not None:
                if is_ephemeral:
                    self._replace_ephemeral(channel, user, message_ts, content)
                else:
                    self._replace_original_message(ch, message_ts, content)
                return {"action": "replaced", "ts": message_ts}
            target_thread = body.get("thread_ts") or thread_ts
            if body.get("response_type") == "in_channel":
                msg = self._post_in_channel(ch, content, target_thread)
                return {"action": "posted", "ts": msg["ts"]}
            eph = self._add_ephemeral(channel, user, self._next_ts(), content, target_thread, source)
            return {"action": "ephemeral", "ts": eph["ts"]}

    def _delete_ephemeral(self, channel: str, user: str, ts: str) -> None:
        before = len(self._ephemerals)
        self._ephemerals = [
            e
            for e in self._ephemerals
            if not (e["channel"] == channel and e["ts"] == ts and e["recipient"] == user)
        ]
        if len(self._ephemerals) == before:
            raise ApiError("message_not_found")

    def _delete_original_message(self, ch: Channel, ts: str) -> None:
        msg = self._find_message(ch, ts)
        if msg is None:
            raise ApiError("message_not_found")
        self._remove_message(ch, msg)

    def _replace_ephemeral(self, channel: str, user: str, ts: str, content: dict[str, Any]) -> None:
        """Replace the user's ephemeral message; what they had entered in it is forgotten."""
        eph = next(
            (
                e
                for e in self._ephemerals
                if e["channel"] == channel and e["ts"] == ts and e["recipient"] == user
            ),
            None,
        )
        if eph is None:
            raise ApiError("message_not_found")
        _replace_content(eph, content)
        self._msg_state.pop((channel, ts, user), None)

    def _replace_original_message(self, ch: Channel, ts: str, content: dict[str, Any]) -> None:
        """Replace a channel message as an edit by the bot; every user's inputs in it are forgotten."""
        msg = self._find_message(ch, ts)
        if msg is None:
            raise ApiError("message_not_found")
        _replace_content(msg, content)
        msg["edited"] = {"user": self.ctx.bot_user_id, "ts": self._next_ts()}
        for key in [k for k in self._msg_state if k[0] == ch.id and k[1] == ts]:
            del self._msg_state[key]

    def _post_in_channel(self, ch: Channel, content: dict[str, Any], thread_ts: str | None) -> dict[str, Any]:
        """Post an ``in_channel`` response as the bot, in the thread if that thread exists."""
        msg = self._bot_message(content.get("text", ""), self._next_ts())
        for key in ("blocks", "attachments"):
            if content.get(key):
                msg[key] = content[key]
        if thread_ts:
            parent = self._find_message(ch, thread_ts)
            if parent is not None:
                msg["thread_ts"] = parent.get("thread_ts", parent["ts"])
                msg["parent_user_id"] = parent.get("user")
        self._store_message(ch, msg)
        return msg

    def _apply_submission_ack(self, user: str, view_id: str, delivery: Delivery) -> None:
        if not delivery.acked:
            delivery.error = delivery.error or "view_submission_not_acked"  # Slack shows a connection error
            return
        body = delivery.body if isinstance(delivery.body, dict) else {}
        with self._lock:
            stack = self._view_stacks.setdefault(user, [])
            rec = self._views[view_id]
            try:
                error = self._apply_response_action(body, user, view_id, stack, rec)
            except ApiError as exc:
                error = f"{exc.error}: {exc.extra.get('response_metadata', {}).get('messages', [])}"
            if error is not None:
                delivery.error = error

    def _apply_response_action(
        self, body: dict[str, Any], user: str, view_id: str, stack: list[str], rec: dict[str, Any]
    ) -> str | None:
        """Apply the ``response_action`` of a view_submission ack; returns Slack's error, if any."""
        action = body.get("response_action")
        if action == "errors":
            return self._show_input_errors(rec, body.get("errors"))
        if action == "update":
            rec["view"] = self._build_view(
                body.get("view"),
                user=user,
                view_id=view_id,
                previous=rec["view"],
                root_view_id=rec["view"]["root_view_id"],
                previous_view_id=rec["view"]["previous_view_id"],
                expect="modal",
            )
            return None
        if action == "push":
            return self._push_view(body.get("view"), user, view_id, stack)
        if action == "clear":
            for vid in stack:
                self._views[vid]["open"] = False
            stack.clear()
            return None
        if action is None:
            if view_id in stack:
                stack.remove(view_id)
            rec["open"] = False
            return None
        return f"unknown response_action: {action}"

    @staticmethod
    def _show_input_errors(rec: dict[str, Any], errors: Any) -> str | None:
        """Keep the modal open with ``errors`` shown; they must name input blocks of the view."""
        input_ids = {b.get("block_id") for b in rec["view"]["blocks"] if b.get("type") == "input"}
        if not isinstance(errors, dict) or not errors or not set(errors) <= input_ids:
            return "invalid_response_action_errors"
        rec["errors"] = dict(errors)
        return None

    def _push_view(self, raw: Any, user: str, view_id: str, stack: list[str]) -> str | None:
        """Open ``raw`` on top of the user's modal stack (at most MAX_VIEW_STACK deep)."""
        if len(stack) >= MAX_VIEW_STACK:
            return "push_limit_reached"
        view = self._build_view(
            raw,
            user=user,
            expect="modal",
            root_view_id=stack[0] if stack else view_id,
            previous_view_id=view_id,
        )
        stack.append(view["id"])
        self._views[view["id"]] = {"view": view, "user": user, "open": True, "errors": {}}
        return None

    async def _http_response_url(self, request: Request) -> Response:
        secret = request.path_params["secret"]
        raw = await request.body()
        try:
            if "application/json" in request.headers.get("content-type", "") or raw.strip().startswith(b"{"):
                body = json.loads(raw or b"{}")
            else:
                body = json.loads(dict(parse_qsl(raw.decode())).get("payload", "{}"))
        except ValueError:
            return PlainTextResponse("invalid_payload", status_code=400)
        with self._lock:
            rec = self._response_urls.get(secret)
            entry: dict[str, Any] = {"url": str(request.url), "body": body, "status": None, "result": None}
            self.responses.append(entry)
            if rec is None:
                entry["status"] = 404
                return JSONResponse({"ok": False, "error": "no_service"}, status_code=404)
            entry.update(
                {
                    "channel": rec["channel"],
                    "user": rec["user"],
                    "message_ts": rec["message_ts"],
                    "is_ephemeral": rec["is_ephemeral"],
                    "kind": rec["kind"],
                }
            )
            if time.monotonic() - rec["issued"] > self.response_url_ttl:
                entry["status"] = 404
                return JSONResponse({"ok": False, "error": "expired_url"}, status_code=404)
            if rec["uses"] >= self.response_url_uses:
                entry["status"] = 404
                return JSONResponse({"ok": False, "error": "used_url"}, status_code=404)
            rec["uses"] += 1
            if not isinstance(body, dict):
                entry["status"] = 400
                return PlainTextResponse("invalid_payload", status_code=400)
            try:
                result = self._post_response(
                    rec["channel"],
                    rec["user"],
                    rec["message_ts"],
                    rec["is_ephemeral"],
                    rec["thread_ts"],
                    body,
                    source="response_url",
                )
            except ApiError as exc:
                entry.update({"status": 400, "error": exc.error, "errors": exc.extra.get("errors")})
                return PlainTextResponse(exc.error, status_code=400)
            entry.update({"status": 200, "result": result})
        return JSONResponse({"ok": True})


def _replace_content(message: dict[str, Any], content: dict[str, Any]) -> None:
    """Give a stored message the text, blocks and attachments of its replacement (metadata stays)."""
    message["text"] = content.get("text", "")
    for key in ("blocks", "attachments"):
        if content.get(key):
            message[key] = content[key]
        else:
            message.pop(key, None)
