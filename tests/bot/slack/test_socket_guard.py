"""A web host that loses its database closes its Socket Mode connection, against the emulator's
Socket Mode endpoint: Slack then sends envelopes to the other hosts' connections."""

from __future__ import annotations

import threading

import pytest
from slack_bolt import App
from slack_sdk import WebClient

from bot.slack.emulator import SlackEmulator
from bot.slack.socket_guard import SocketGuard
from bot.slack.socket_mode import SocketModeHandler
from tests.app_manifest import BOT_SCOPES


@pytest.fixture
def slack():
    emu = SlackEmulator(bot_scopes=BOT_SCOPES)
    emu.start()
    emu.add_user("U0ANN1", "ann")
    emu.add_channel("C0LABELS", "labeling", members=["U0ANN1", "UBOT"])
    emu.deliver_to_http(None)  # envelopes go over Socket Mode
    yield emu
    emu.stop()


class Host:
    """A web host's Socket Mode side: a Bolt app answering ``/label`` with its name."""

    def __init__(self, name: str, slack: SlackEmulator) -> None:
        client = WebClient(token=slack.bot_token, base_url=slack.api_url)
        self.app = App(client=client, signing_secret="unused", token_verification_enabled=False)
        self.app.command("/label")(lambda ack: ack(f"answered by {name}"))
        self.handler = SocketModeHandler(self.app, slack.app_token)
        self.database = True
        self.guard = SocketGuard(self.handler.client, lambda: self.database, failures=3, timeout=5)

    def connect(self) -> None:
        self.handler.connect()

    def close(self) -> None:
        self.guard.stop()
        self.handler.close()


def answered_by(slack: SlackEmulator) -> str:
    delivery = slack.slash_command("U0ANN1", "C0LABELS", "/label")
    assert delivery.acked and delivery.transport == "socket", delivery
    return str(delivery.body["text"])


def test_a_host_without_its_database_leaves_its_envelopes_to_the_others(slack):
    one, two = Host("one", slack), Host("two", slack)
    try:
        one.connect()
        slack.wait_for_socket()
        two.connect()  # the newest connection: Slack's emulator sends to it
        slack.wait_for(lambda: slack.socket_connections == 2, 15)
        slack.wait_for_socket()
        assert answered_by(slack) == "answered by two"
        two.database = False
        two.guard.tick()
        two.guard.tick()
        assert two.handler.client.is_connected() and not two.guard.closed  # two failures: a blip
        assert answered_by(slack) == "answered by two"
        two.guard.tick()
        assert two.guard.closed and two.guard.failed == 3
        slack.wait_for(lambda: slack.socket_connections == 1, 15)  # Slack saw it close
        assert not two.handler.client.is_connected()
        assert answered_by(slack) == "answered by one"
        two.guard.tick()  # still down: stays closed, slack_sdk does not reconnect it
        assert not two.handler.client.is_connected() and answered_by(slack) == "answered by one"
        assert slack.socket_connections == 1
        two.database = True
        two.guard.tick()
        assert not two.guard.closed and two.guard.failed == 0
        slack.wait_for(lambda: slack.socket_connections == 2, 15)
        slack.wait_for_socket()
        assert answered_by(slack) == "answered by two"  # a new connection: Slack sends to it again
    finally:
        one.close()
        two.close()


def test_a_check_that_hangs_counts_as_a_failure(slack):
    host = Host("one", slack)
    release = threading.Event()
    host.guard = SocketGuard(host.handler.client, lambda: release.wait(10), failures=1, timeout=0.2)
    try:
        host.connect()
        slack.wait_for_socket()
        host.guard.tick()  # the database neither answers nor refuses
        assert host.guard.closed
        slack.wait_for(lambda: slack.socket_connections == 0, 15)
    finally:
        release.set()
        host.close()


def test_failures_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        SocketGuard(None, lambda: True, failures=0)  # type: ignore[arg-type]
