"""The weekly digest through the real bot: exactly once per period, chart upload, stats."""

from __future__ import annotations

import json

from tests.scenarios.conftest import CHANNEL, ProcessBot, wait_items

DIGEST_CHANNEL = "C0DIGEST"


def digests(slack):
    return [m for m in slack.messages(DIGEST_CHANNEL) if "Quality digest" in m.get("text", "")]


def test_missed_digest_is_posted_once_with_chart_and_never_again(process_bot, slack, tmp_path):
    bot = process_bot
    slack.add_channel(DIGEST_CHANNEL, "quality", members=["U0ANN1"])
    bot.configure(digest={"channel": DIGEST_CHANNEL, "schedule": "0 9 * * mon", "timezone": "UTC"})
    bot.start()  # the last Monday's digest fell due while the bot was down
    (digest,) = slack.wait_for(lambda: digests(slack), timeout=30)
    assert "Agreement" in json.dumps(digest["blocks"], ensure_ascii=False)
    thread = slack.wait_for(
        lambda: [m for m in slack.thread(DIGEST_CHANNEL, digest["ts"]) if m.get("files")], timeout=20
    )
    assert thread[0]["files"][0]["name"].endswith(".png")
    file_id = thread[0]["files"][0]["id"]
    assert slack.files[file_id].content.startswith(b"\x89PNG")
    bot.stop()
    bot.start()  # a restart does not post the period again ...
    second = ProcessBot(bot.workdir, bot.env, slack, False)
    second.start()  # ... nor does a second process on the same database
    # Both ran the digest job before serving, found the period claimed, and said so.
    second.stop()
    bot.stop()
    assert len(digests(slack)) == 1
    assert bot.log().count("already posted or being posted") >= 2


def test_digest_dry_run_and_stats_command(bot, slack, tmp_path):
    bot.configure(digest={"channel": None})
    bot.import_items([{"id": "d-1", "text": "x", "language": "en"}])
    bot.start()
    (message,) = wait_items(slack, 1)
    for user in ("U0ANN1", "U0ANN2", "U0ANN3"):
        slack.click(user, CHANNEL, message["ts"], "label:bug")
    out = bot.cli("digest", "support", "--dry-run", "--chart", str(tmp_path / "chart.png")).stdout
    assert "Quality digest for Support tickets" in out and "Items resolved" in out
    assert (tmp_path / "chart.png").read_bytes().startswith(b"\x89PNG")
    stats = slack.slash_command("U0ANN1", CHANNEL, "/label", "stats support")
    assert stats.status == 200
    slack.wait_for(
        lambda: any("Quality digest" in e.get("text", "") for e in slack.ephemerals(user="U0ANN1")),
        timeout=20,
    )
    unknown = slack.slash_command("U0ANN1", CHANNEL, "/label", "stats nope")
    assert unknown.status == 200
    slack.wait_for(
        lambda: any("No project" in e.get("text", "") for e in slack.ephemerals(user="U0ANN1")), timeout=20
    )
