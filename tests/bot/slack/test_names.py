"""Display names from the emulator's users.info and usergroups.list: cached, never raising."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from bot.slack.emulator import SlackEmulator
from bot.slack.names import SlackNames, names_for


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    emulator = SlackEmulator(rate_limits="off")
    emulator.add_user("U0ALICE", "alice", real_name="Alice Archer")
    emulator.add_user("U0BOB", "bob", real_name="Bob Baker")
    emulator.add_usergroup("S0EXP", "experts", ["U0BOB"], name="Expert reviewers")
    with emulator:
        yield emulator


def client_of(emu: SlackEmulator) -> WebClient:
    return WebClient(token=emu.bot_token, base_url=emu.api_url, retry_handlers=[])


def test_names_are_looked_up_once_and_again_after_the_ttl(emu: SlackEmulator):
    now = [0.0]
    names = SlackNames(client_of(emu), ttl=60, clock=lambda: now[0])
    assert names.names(["U0ALICE", "U0BOB", "U0ALICE"]) == {"U0ALICE": "alice", "U0BOB": "bob"}
    assert names.name("U0ALICE") == "alice"
    assert len(emu.calls_to("users.info")) == 2  # one per distinct ID
    assert names.name("S0EXP") == "@experts" and names.name("S0EXP") == "@experts"
    assert len(emu.calls_to("usergroups.list")) == 1
    now[0] = 61
    emu.add_user("U0ALICE", "ali", real_name="Alice Archer")
    assert names.name("U0ALICE") == "ali" and len(emu.calls_to("users.info")) == 3
    assert names.problem is None


def test_display_name_then_real_name_then_name(emu: SlackEmulator):
    user = emu.add_user("U0CAROL", "carol", real_name="Carol Cole")
    emu._users["U0CAROL"]["profile"]["display_name"] = ""  # no display name set, as is common
    assert user["name"] == "carol"
    assert SlackNames(client_of(emu)).name("U0CAROL") == "Carol Cole"


def test_unknown_ids_and_non_people_fall_back_without_a_problem(emu: SlackEmulator):
    names = SlackNames(client_of(emu))
    assert names.name("U0GONE") == "U0GONE" and names.name("U0GONE") == "U0GONE"
    assert len(emu.calls_to("users.info")) == 1  # "no such user" is cached too
    assert names.name("S0NOPE") == "S0NOPE"
    assert names.name("model") == "model" and names.name("") == ""
    assert len(emu.calls_to("users.info")) == 1
    assert names.problem is None


def test_a_missing_scope_falls_back_to_ids_and_says_why(emu: SlackEmulator):
    emu.set_scopes(bot=["chat:write"])
    names = SlackNames(client_of(emu))
    assert names.name("U0ALICE") == "U0ALICE" and names.name("S0EXP") == "S0EXP"
    assert names.problem is not None and "users:read" in names.problem
    assert len(emu.calls_to("users.info")) == 1 and not emu.calls_to("usergroups.list")  # quiet after one


def test_slack_out_of_reach_costs_one_failure_then_recovers(emu: SlackEmulator):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    now = [0.0]
    down = SlackNames(
        WebClient(token="xoxb-x", base_url=f"http://127.0.0.1:{closed}/api/", retry_handlers=[]),
        quiet=30,
        clock=lambda: now[0],
    )
    assert [down.name(u) for u in ("U0ALICE", "U0BOB", "S0EXP")] == ["U0ALICE", "U0BOB", "S0EXP"]
    assert down.problem is not None and down.problem.startswith("users.info failed")
    names = SlackNames(client_of(emu), quiet=30, clock=lambda: now[0])
    emu.fail_next("users.info", status=500)
    assert names.name("U0ALICE") == "U0ALICE"
    assert names.name("U0BOB") == "U0BOB" and len(emu.calls_to("users.info")) == 1  # quiet: not tried
    now[0] = 31
    assert names.name("U0ALICE") == "alice"  # the failure was not cached


def test_one_cache_per_client(emu: SlackEmulator):
    client = client_of(emu)
    assert names_for(client) is names_for(client)
    assert names_for(client) is not names_for(client_of(emu))
