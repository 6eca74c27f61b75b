"""Property-based: real Slack payloads of every shape the bot handles, mutated by Hypothesis, signed
and sent to the running bot. Whatever the mutation: never a 5xx, and a refused request (4xx)
writes nothing. Unsigned or garbled requests are refused the same way."""

from __future__ import annotations

import copy
import json
import os
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from bot.escalation import open_escalation
from bot.message_items import SlackMessage, SourceKind
from bot.slack.emulator import payloads, signed_headers
from bot.slack.message_action import encode_message
from storage.db import make_engine, make_session_factory, session_scope
from storage.models import Audit, Escalation, Item, ItemEvent, Label, Skip, ThreadMessage, UserAction
from tests.bot.conftest import make_config
from tests.scenarios.conftest import CHANNEL

HOSTILE: list[Any] = [
    None,
    0,
    -1,
    10**30,
    1.5,
    True,
    "",
    "x" * 5000,
    "1" * 30 + ":1",
    "1:1",
    [],
    {},
    [None],
    ["a"],
    {"a": None},
    "\x00",
    "<!channel>",
]
PROPERTY = settings(
    # Bounded for CI; LABELBOT_PROPERTY_EXAMPLES=500 (and LABELBOT_PROPERTY_RANDOM=1) digs deeper.
    max_examples=int(os.environ.get("LABELBOT_PROPERTY_EXAMPLES", "25")),
    deadline=None,
    derandomize=not os.environ.get("LABELBOT_PROPERTY_RANDOM"),  # CI: the same examples every run
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Arena:
    """The bot serving with items open, an open escalation and a pending audit; no background
    work, so the database changes only by what a request does."""

    def __init__(self, bot, slack, database_url: str) -> None:
        self.bot, self.slack = bot, slack
        self.engine = make_engine(database_url)
        factory = make_session_factory(self.engine)
        project = make_config(
            channel=CHANNEL, annotators=["U0ANN1"], experts={"default": ["U0EXPERT"], "admins": ["U0ADMIN"]}
        ).projects[0]
        with session_scope(factory) as session:
            items = session.scalars(select(Item).order_by(Item.id)).all()
            for k, item in enumerate(items):
                item.status, item.channel, item.message_ts = "open", CHANNEL, f"1700000000.00000{k + 1}"
            self.item, self.escalated = items[0], items[1]
            self.escalation = open_escalation(
                session, items[1], project, reason="disagreement", counts={"bug": 1}
            )
            session.execute(update(Escalation).values(thread_ts="1700000001.000001"))
            self.escalation_id = self.escalation.id
            audit = Audit(
                item_id=items[2].id,
                resolution="consensus",
                audited_label="bug",
                expert="U0EXPERT",
                status="posted",
            )
            session.add(audit)
            session.flush()
            self.audit_id = audit.id
            self.refs = [(i.id, i.message_ts) for i in items]

    def fingerprint(self) -> tuple[int, ...]:
        with self.engine.connect() as conn:
            counts = [
                conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (Label, Skip, UserAction, ItemEvent, ThreadMessage, Escalation)
            ]
            counts.append(conn.execute(select(func.count()).where(Escalation.status != "open")).scalar_one())
            counts.append(conn.execute(select(func.count()).where(Audit.status == "done")).scalar_one())
            counts.append(conn.execute(select(func.count()).where(Item.status != "open")).scalar_one())
        return tuple(counts)

    def send(self, body: bytes, content_type: str, *, signed: bool = True) -> int:
        headers = {"Content-Type": content_type}
        if signed:
            headers.update(signed_headers(self.slack.signing_secret, body))
        return httpx.post(
            f"{self.bot.url}/slack/events", content=body, headers=headers, timeout=30
        ).status_code

    # -- real payloads, as Slack sends them ------------------------------------------------------
    def click(
        self, action_id: str, value: str, *, ts: str, ephemeral: bool = False, user: str = "U0ANN1"
    ) -> dict[str, Any]:
        ctx = self.slack.ctx
        action = {
            "action_id": action_id,
            "block_id": f"b:{value}",
            "value": value,
            "type": "button",
            "action_ts": f"{time.time():.6f}",
        }
        return payloads.block_actions(
            ctx,
            user_id=user,
            user_name=user.lower(),
            actions=[action],
            trigger_id=f"{int(time.time())}.1.{'a' * 32}",
            container={"type": "message", "message_ts": ts, "channel_id": CHANNEL, "is_ephemeral": ephemeral},
            channel={"id": CHANNEL, "name": "labeling"},
            message=None if ephemeral else {"ts": ts, "text": "item", "blocks": []},
            response_url=f"{self.slack.base_url}actions/T0001/1/none",
        )

    def submission(
        self, callback_id: str, metadata: str, values: dict[str, Any], user: str
    ) -> dict[str, Any]:
        view = {
            "id": "V0001",
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": metadata,
            "state": {"values": values},
        }
        return payloads.view_submission(
            self.slack.ctx, user_id=user, user_name=user.lower(), view=view, trigger_id="1.1.x"
        )

    def seeds(self) -> dict[str, tuple[str, dict[str, Any]]]:
        (item, ts), (_, ts2), _ = self.refs
        ref = f"{item}:1"
        esc = str(self.escalation_id)
        plain = lambda v: {"value": {"type": "plain_text_input", "value": v}}  # noqa: E731
        option = lambda v: {"value": {"type": "static_select", "selected_option": {"value": v}}}  # noqa: E731
        event = payloads.event_callback(
            self.slack.ctx,
            {
                "type": "message",
                "channel": CHANNEL,
                "user": "U0EXPERT",
                "text": "hmm",
                "ts": "1700000002.000001",
                "thread_ts": ts2,
            },
            event_id="Ev0001",
            event_time=int(time.time()),
        )
        home = payloads.event_callback(
            self.slack.ctx,
            {"type": "app_home_opened", "user": "U0ANN1", "tab": "home"},
            event_id="Ev0002",
            event_time=int(time.time()),
        )
        command = payloads.slash_command(
            self.slack.ctx,
            user_id="U0ANN1",
            user_name="ann1",
            channel_id=CHANNEL,
            channel_name="labeling",
            command="/label",
            text="stats support",
            response_url=f"{self.slack.base_url}commands/T0001/1/none",
            trigger_id="1.1.x",
        )
        shortcut = payloads.message_action(
            self.slack.ctx,
            user_id="U0ANN1",
            user_name="ann1",
            callback_id="send_to_labeling",
            trigger_id="1.1.x",
            action_ts=f"{time.time():.6f}",
            channel={"id": "C0GENERAL", "name": "general"},
            message={"type": "message", "user": "U0OTHER", "ts": "1700000005.000001", "text": "hi &lt;"},
            response_url=f"{self.slack.base_url}actions/T0001/1/none",
        )
        sent = SlackMessage("C0GENERAL", "1700000005.000001", "hi", SourceKind.CHANNEL, "U0OTHER", ("a.png",))
        return {
            "send_to_labeling": ("form", shortcut),
            "send_to_labeling_modal": (
                "form",
                self.submission(
                    "send_to_labeling_modal",
                    encode_message(sent) or "",
                    {"project": option("support"), "suggested": option("support/bug"), "note": plain("n")},
                    "U0ANN1",
                ),
            ),
            "label": ("form", self.click("label:bug", ref, ts=ts)),
            "undo": ("form", self.click("undo", ref, ts="1700000009.000001", ephemeral=True)),
            "skip": ("form", self.click("skip", ref, ts=ts)),
            "guidelines": ("form", self.click("guidelines", ref, ts=ts)),
            "full_text": ("form", self.click("full_text", ref, ts=ts)),
            "escalate": ("form", self.click("escalate", ref, ts=ts)),
            "decide": ("form", self.click("decide:bug", esc, ts="1700000001.000001", user="U0EXPERT")),
            "decide_note": ("form", self.click("decide_note", esc, ts="1700000001.000001", user="U0EXPERT")),
            "audit": (
                "form",
                self.click("audit:billing", str(self.audit_id), ts="1700000003.000001", user="U0EXPERT"),
            ),
            "escalate_modal": (
                "form",
                self.submission(
                    "escalate_modal",
                    f"{ref}@{time.time():.6f}",
                    {"reason": plain("why"), "suggested": option("bug")},
                    "U0ANN1",
                ),
            ),
            "decide_modal": (
                "form",
                self.submission(
                    "decide_modal", esc, {"label": option("bug"), "note": plain("because")}, "U0EXPERT"
                ),
            ),
            "send_back_modal": (
                "form",
                self.submission("send_back_modal", esc, {"note": plain("again")}, "U0EXPERT"),
            ),
            "command": ("command", command),
            "thread_message": ("json", event),
            "app_home": ("json", home),
        }


def encode(kind: str, payload: Any) -> tuple[bytes, str]:
    if kind == "json":
        return json.dumps(payload).encode(), "application/json"
    if kind == "command":
        fields = payload if isinstance(payload, dict) else {"command": payload}
        return urlencode(
            {k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}
        ).encode(), "application/x-www-form-urlencoded"
    return urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded"


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value: the dict keys and list positions leading to it."""
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths(value, (*prefix, index))
    return found


def mutate(payload: Any, path: tuple[Any, ...], operation: str, value: Any) -> Any:
    """``payload`` with the node at ``path`` deleted, replaced by ``value``, or (a list) emptied."""
    if not path:
        return value
    result = copy.deepcopy(payload)
    parent = result
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if operation == "delete":
        del parent[last]
    elif operation == "empty" and isinstance(parent[last], list | dict | str):
        parent[last] = type(parent[last])()
    else:
        parent[last] = value
    return result


@pytest.fixture
def arena(bot, slack, database_url):
    bot.configure(annotators=["U0ANN1"], max_open=10)
    bot.import_items([{"id": f"h-{i}", "text": f"hostile {i}", "language": "en"} for i in range(3)])
    arena = Arena(bot, slack, database_url)
    bot.start(background=False)
    yield arena
    arena.engine.dispose()


SEEDS = [
    "label",
    "undo",
    "skip",
    "guidelines",
    "full_text",
    "escalate",
    "decide",
    "decide_note",
    "audit",
    "escalate_modal",
    "decide_modal",
    "send_back_modal",
    "command",
    "thread_message",
    "app_home",
    "send_to_labeling",
    "send_to_labeling_modal",
]


@pytest.mark.parametrize("seed", SEEDS)
@PROPERTY
@given(data=st.data())
def test_mutated_signed_payloads_never_fail_the_server_and_refusals_write_nothing(arena, seed, data):
    kind, payload = arena.seeds()[seed]
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        path = data.draw(st.sampled_from(paths(payload)), label="path")
        operation = data.draw(st.sampled_from(["delete", "replace", "empty"]), label="operation")
        if operation == "delete" and not path:
            operation = "replace"
        payload = mutate(payload, path, operation, data.draw(st.sampled_from(HOSTILE), label="value"))
    body, content_type = encode(kind, payload)
    before = arena.fingerprint()
    status = arena.send(body, content_type)
    assert status < 500, (seed, payload)
    if status >= 400:
        assert arena.fingerprint() == before, (seed, status, payload)


@PROPERTY
@given(
    body=st.one_of(st.binary(max_size=2000), st.text(max_size=2000).map(str.encode)),
    signature=st.one_of(st.none(), st.text(max_size=80)),
    timestamp=st.one_of(st.none(), st.text(max_size=20), st.integers(-(2**40), 2**40).map(str)),
)
def test_garbage_and_unsigned_requests_are_refused_and_write_nothing(arena, body, signature, timestamp):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature is not None:
        headers["X-Slack-Signature"] = signature.encode("ascii", "replace").decode()
    if timestamp is not None:
        headers["X-Slack-Request-Timestamp"] = timestamp.encode("ascii", "replace").decode()
    before = arena.fingerprint()
    try:
        status = httpx.post(
            f"{arena.bot.url}/slack/events", content=body, headers=headers, timeout=30
        ).status_code
    except httpx.LocalProtocolError:
        return  # a header the client itself will not send
    assert status in (400, 401, 413)
    assert arena.fingerprint() == before


@PROPERTY
@given(body=st.one_of(st.binary(max_size=3000), st.text(max_size=3000).map(str.encode)))
def test_signed_garbage_is_refused_and_writes_nothing(arena, body):
    before = arena.fingerprint()
    status = arena.send(body, "application/x-www-form-urlencoded")
    assert status < 500
    if status >= 400:
        assert arena.fingerprint() == before


def test_the_seeds_are_real_payloads_the_bot_accepts(arena):
    """Unmutated, every seed is answered 200: the properties above start from working requests."""
    for seed, (kind, payload) in arena.seeds().items():
        assert arena.send(*encode(kind, payload)) == 200, seed
