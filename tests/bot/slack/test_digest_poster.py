"""The digest job when Slack cannot say whether the digest was posted."""

from __future__ import annotations

from datetime import UTC, datetime

from slack_sdk import WebClient

from bot.slack.emulator import SlackEmulator
from bot.slack.posting.digests import DIGEST_EVENT_TYPE, DigestPoster
from bot.slack.posting.poster import SlackPoster
from tests.app_manifest import BOT_SCOPES
from tests.bot.conftest import make_config

NOW = datetime(2026, 12, 1, 10, tzinfo=UTC)  # a Tuesday: Monday 09:00's digest is due


def test_an_unreadable_history_releases_the_period_and_the_next_run_posts_once(factory):
    with SlackEmulator(rate_limits="off", bot_scopes=BOT_SCOPES) as slack:
        slack.add_channel("C0DIGEST", "quality", members=["UBOT"])
        client = WebClient(token=slack.bot_token, base_url=slack.api_url, retry_handlers=[])
        config = make_config(digest={"channel": "C0DIGEST"})
        digests = DigestPoster(SlackPoster(client), factory, config, now=lambda: NOW)
        slack.fail_next("conversations.history", status=503)
        assert digests.post_due() == 0  # posted or not is unknown: nothing posted, the claim given back
        assert not slack.calls_to("chat.postMessage")
        assert digests.post_due() == 1
        assert digests.post_due() == 0
        posted = [
            m
            for m in slack.messages("C0DIGEST")
            if (m.get("metadata") or {}).get("event_type") == DIGEST_EVENT_TYPE
        ]
        assert len(posted) == 1
