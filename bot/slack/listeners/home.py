"""App Home: published when the user opens the tab; its Pause/Resume buttons and its pages.

Each answer is the user's Home published again (one ``views.publish``); the refresher
(``bot.slack.home``) learns of it, so its own next publish for that user waits its interval.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.slack import ids
from bot.slack.home import render_home, set_paused
from bot.slack.listeners.routes import Route, ack_only, runtime
from bot.slack.payload import row_id

__all__ = ["ROUTES"]


def publish_home(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    rt, user = runtime(context), str(event.get("user", ""))
    if event.get("tab", "home") != "home" or not user:
        return
    page = rt.homes.page(user) if rt.homes else 1
    view = render_home(rt, user, page)
    if rt.homes:  # before the call: a change touched meanwhile waits the interval, not a second publish
        rt.homes.published(user, page)
    client.views_publish(user_id=user, view=view)


def pause_or_resume(action: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    rt, user = runtime(context), context.user_id or ""
    project = next((p for p in rt.config.projects if p.key == action.get("value")), None)
    if project is None:
        return  # a button of a project no longer configured: the Home is republished when next opened
    notice = set_paused(rt, user, project, action.get("action_id") == ids.PAUSE_PROJECT)
    page = rt.homes.page(user) if rt.homes else 1
    view = render_home(rt, user, page, notice)
    if rt.homes:  # before the call: a change touched meanwhile waits the interval, not a second publish
        rt.homes.published(user, page)
    client.views_publish(user_id=user, view=view)


def turn_page(action: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    rt, user = runtime(context), context.user_id or ""
    page = row_id(action.get("value")) or 1
    view = render_home(rt, user, page)
    if rt.homes:  # before the call: a change touched meanwhile waits the interval, not a second publish
        rt.homes.published(user, page)
    client.views_publish(user_id=user, view=view)


ROUTES = [
    Route("event", "app_home_opened", ack_only, (publish_home,), decides="home.build_home"),
    Route("action", ids.PAUSE_PROJECT, ack_only, (pause_or_resume,), decides="admin.pause"),
    Route("action", ids.RESUME_PROJECT, ack_only, (pause_or_resume,), decides="admin.resume"),
    Route("action", ids.HOME_PAGE, ack_only, (turn_page,), decides="home.build_home"),
]
