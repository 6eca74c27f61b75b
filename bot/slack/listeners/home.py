"""App Home: what waits for the user, per project, published when they open the Home tab."""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.home import home_summary
from bot.slack.blocks.home import home_view
from bot.slack.listeners.routes import Route, ack_only, runtime

__all__ = ["ROUTES"]


def publish_home(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    rt, user = runtime(context), str(event.get("user", ""))
    with rt.read() as session:
        summary = home_summary(session, rt.config, user)
    client.views_publish(user_id=user, view=home_view(summary))


ROUTES = [Route("event", "app_home_opened", ack_only, (publish_home,), decides="home.home_summary")]
