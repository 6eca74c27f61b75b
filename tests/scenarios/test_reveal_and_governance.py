"""``/label reveal`` end to end with the history it leaves (``labelbot history``, ``labelbot
admin-log``), and governance mistakes stopping ``labelbot check`` and ``labelbot serve``."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import httpx

from tests.scenarios.conftest import CHANNEL, wait_items

LONG = "Card 4111 1111 1111 1111 <!channel> & " + "word " * 8000  # 40,000+ characters


def command(slack, user, line):
    delivery = slack.slash_command(user, CHANNEL, "/label", line)
    assert delivery.status == 200 and delivery.acked and delivery.error is None


def answer(slack, user, needle, timeout=15):
    def find():
        found = [e for e in slack.ephemerals(user=user) if needle in json.dumps(e, ensure_ascii=False)]
        return found[-1] if found else None

    return slack.wait_for(find, timeout=timeout)


def test_an_admin_reveals_a_long_text_privately_and_it_is_in_the_history(bot, slack):
    bot.import_items(
        [{"id": "t-1", "text": LONG, "language": "en"}, {"id": "t 2", "text": "x", "language": "en"}]
    )
    bot.start()
    wait_items(slack, 2)
    command(slack, "U0ADMIN", "reveal t-1")  # the admin's only project: no key needed
    shown = answer(slack, "U0ADMIN", "Original text of item")
    blocks = json.dumps(shown["blocks"], ensure_ascii=False)
    assert "Card 4111 1111 1111 1111 &lt;!channel&gt; &amp;" in blocks and "<!channel>" not in blocks
    assert "labelbot export support -o items.csv" in blocks and "40,0" in blocks  # cut, and where it all is
    assert "4111" not in shown["text"]
    assert all("4111" not in json.dumps(e) for e in slack.ephemerals() if e["recipient"] != "U0ADMIN")

    command(slack, "U0ADMIN", "reveal support nope")
    answer(slack, "U0ADMIN", "No item `nope` in *Support tickets*")
    command(slack, "U0ADMIN", "reveal other t-1")
    answer(slack, "U0ADMIN", "No project `other`")
    command(slack, "U0ANN1", "reveal support t-1")
    answer(slack, "U0ANN1", "Only this project's admins can reveal")
    command(slack, "U0ADMIN", "pause")
    answer(slack, "U0ADMIN", "is paused")

    history = bot.cli("history", "support", "t-1", "--ids").stdout
    assert "U0ADMIN" in history and "reveal" in history and "chars=" in history
    assert "reveal" not in bot.cli("history", "support", "t 2", "--ids").stdout
    log = bot.cli("admin-log", "support", "--ids").stdout.splitlines()
    assert [line.split()[2:4] for line in log[2:]] == [["U0ADMIN", "reveal"], ["U0ADMIN", "pause"]]
    assert "t-1" in log[2] and "chars=" in log[2]
    newest = bot.cli("admin-log", "support", "--limit", "1", "--ids").stdout
    assert "pause" in newest and "reveal" not in newest
    assert bot.cli("admin-log", "support", "--limit", "0", check=False).returncode == 2
    unknown = bot.cli("admin-log", "nope", check=False)
    assert unknown.returncode == 2 and "Traceback" not in unknown.stdout + unknown.stderr


def test_admin_log_of_a_project_with_no_events(bot):
    assert "support: no admin events yet" in bot.cli("admin-log", "support").stdout


def test_check_and_serve_refuse_a_project_no_one_administers(bot):
    bot.configure(experts={"by_label": {"billing": ["U0FIN"]}})
    result = bot.cli("check", check=False)
    out = result.stdout
    assert result.returncode == 2 and "Traceback" not in out + result.stderr
    assert "FAIL  project 'support' → experts: only routed experts and admins may decide" in out
    assert "fix: add experts.default (routed every time) or experts.admins" in out
    assert "FAIL  project 'support' → experts.admins: no admins, but these need one" in out
    assert "fix: add at least one admin" in out

    served = bot.cli("serve", check=False)
    assert served.returncode == 2 and "Traceback" not in served.stdout + served.stderr
    assert "project 'support' → experts.admins" in served.stderr + served.stdout


def test_check_says_the_roles_are_sound(bot):
    out = bot.cli("check", check=False).stdout
    assert "ok    roles: every project has someone to decide its escalations, and admins" in out


def test_pause_and_resume_from_app_home_are_in_the_admin_log(bot, slack):
    from bot.slack import ids

    bot.start()
    before = len(slack.calls_to("views.publish"))
    slack.app_home_opened("U0ADMIN")
    slack.wait_for(lambda: len(slack.calls_to("views.publish")) > before, timeout=15)
    home = slack.home("U0ADMIN")
    slack.click_in_view("U0ADMIN", home["id"], ids.PAUSE_PROJECT, "support")
    home = slack.wait_for(
        lambda: (h := slack.home("U0ADMIN")) and "is paused" in json.dumps(h) and h, timeout=15
    )
    slack.click_in_view("U0ADMIN", home["id"], ids.RESUME_PROJECT, "support")
    slack.wait_for(lambda: "is resumed" in json.dumps(slack.home("U0ADMIN")), timeout=15)
    log = bot.cli("admin-log", "support", "--ids").stdout.splitlines()
    assert [line.split()[2:4] for line in log[2:]] == [["U0ADMIN", "pause"], ["U0ADMIN", "resume"]]
    assert "paused_by=U0ADMIN" in log[3]


def test_a_forged_pause_click_from_a_home_without_the_button_is_refused_on_that_home(bot, slack):
    """Only admins' Homes have Pause; a signed click forged by anyone else changes nothing and is
    answered on their own Home."""
    from bot.slack import ids
    from bot.slack.emulator import payloads, signed_headers

    bot.start()
    for user in ("U0ANN1", "U0EXPERT", "U0OUTSIDE"):
        before = len(slack.calls_to("views.publish"))
        slack.app_home_opened(user)
        slack.wait_for(lambda b=before: len(slack.calls_to("views.publish")) > b, timeout=15)
        home = slack.home(user)
        action = {
            "action_id": ids.PAUSE_PROJECT,
            "block_id": "forged",
            "value": "support",
            "type": "button",
            "action_ts": "1700000000.000001",
        }
        payload = payloads.block_actions(
            slack.ctx,
            user_id=user,
            user_name=user.lower(),
            actions=[action],
            trigger_id="1.1.forged",
            container={"type": "view", "view_id": home["id"]},
            view=home,
        )
        body = urlencode({"payload": json.dumps(payload)}).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            **signed_headers(slack.signing_secret, body),
        }
        assert (
            httpx.post(f"{bot.url}/slack/events", content=body, headers=headers, timeout=30).status_code
            == 200
        )
        slack.wait_for(lambda u=user: "Only this project" in json.dumps(slack.home(u)), timeout=15)
    assert "no admin events yet" in bot.cli("admin-log", "support").stdout
    before = len(slack.calls_to("views.publish"))
    slack.app_home_opened("U0ADMIN")
    slack.wait_for(lambda: len(slack.calls_to("views.publish")) > before, timeout=15)
    assert "Running" in json.dumps(slack.home("U0ADMIN"))  # the project was not paused
