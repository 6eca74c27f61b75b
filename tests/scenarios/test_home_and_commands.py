"""App Home per role, its refreshes and pages, project pause and resume, and every ``/label``
subcommand: the real bot against the Slack emulator."""

from __future__ import annotations

import json
import time

import yaml

from bot.slack import ids
from storage.db import make_engine, make_session_factory
from tests.scenarios.conftest import CHANNEL, item_messages, message_text, project_config, wait_items

OTHER = "C0OTHER"
ITEMS = [{"id": f"h-{i}", "text": f"Ticket {i}", "language": "en"} for i in range(3)]


def configure(bot, slack, *projects):
    """Several projects in labelbot.yml; each extra channel exists with the bot and everyone in it."""
    for project in projects:
        if project["channel"] != CHANNEL:
            slack.add_channel(
                project["channel"], project["key"], members=[*PEOPLE, "U0GRPMEM", "U0GRPANN", "UBOT"]
            )
    (bot.workdir / "labelbot.yml").write_text(yaml.safe_dump({"projects": list(projects)}, sort_keys=False))


PEOPLE = ["U0ANN1", "U0ANN2", "U0ANN3", "U0ANN4", "U0OUTSIDE", "U0EXPERT", "U0FIN", "U0DE", "U0ADMIN"]


def restricted():
    return project_config(
        key="restricted", name="Restricted <!channel>", channel=OTHER, annotators=["U0ANN4"]
    )


def open_home(slack, user):
    """The user opens the Home tab; the view the bot publishes for it."""
    before = len(slack.calls_to("views.publish"))
    slack.app_home_opened(user)
    slack.wait_for(
        lambda: any(c.params.get("user_id") == user for c in slack.calls_to("views.publish")[before:]),
        timeout=15,
    )
    return slack.home(user)


def text_of(view):
    return json.dumps(view["blocks"], ensure_ascii=False)


def buttons(view, action_id):
    return [
        element.get("value") or ""
        for block in view["blocks"]
        for element in [block.get("accessory") or {}, *(block.get("elements") or [])]
        if element.get("action_id") == action_id
    ]


def ephemeral(slack, user, needle, timeout=15):
    """The newest ephemeral message to ``user`` that contains ``needle``."""

    def find():
        found = [e for e in slack.ephemerals(user=user) if needle in json.dumps(e, ensure_ascii=False)]
        return found[-1] if found else None

    return slack.wait_for(find, timeout=timeout)


def command(slack, user, text):
    delivery = slack.slash_command(user, CHANNEL, "/label", text)
    assert delivery.status == 200 and delivery.acked
    return delivery


# -- App Home per role --------------------------------------------------------------------------------
def test_each_user_sees_the_projects_they_may_label(bot, slack):
    configure(bot, slack, project_config(), restricted())
    bot.import_items(ITEMS[:2])
    bot.start()
    first, _ = wait_items(slack, 2)
    slack.click("U0ANN1", CHANNEL, first["ts"], "label:bug")

    ann1 = open_home(slack, "U0ANN1")
    assert buttons(ann1, ids.START_LABELING) == ["support"]
    assert "Support tickets" in text_of(ann1) and "Restricted" not in text_of(ann1)
    assert "*1* open item(s) wait for your label · you labeled 1" in text_of(ann1)
    assert "*1* label(s)" in text_of(ann1)  # their week

    ann4 = open_home(slack, "U0ANN4")  # only the restricted project's annotator
    assert buttons(ann4, ids.START_LABELING) == ["restricted"]
    assert "Restricted &lt;!channel&gt;" in text_of(ann4)  # escaped, never a mention

    assert buttons(open_home(slack, "U0GRPANN"), ids.START_LABELING) == ["support"]  # via the group

    outsider = open_home(slack, "U0OUTSIDE")
    assert buttons(outsider, ids.START_LABELING) == []
    assert "Nothing here for you" in text_of(outsider)
    assert buttons(outsider, ids.PAUSE_PROJECT) == []


def test_admin_sees_each_project_health_with_pause(bot, slack):
    configure(bot, slack, project_config(), restricted())
    bot.import_items(ITEMS)
    bot.start()
    wait_items(slack, 3)
    # A post is recorded as open just after Slack took it: open the Home until it counts all three.
    slack.wait_for(lambda: "· 3 open" in text_of(open_home(slack, "U0ADMIN")), timeout=15)
    home = open_home(slack, "U0ADMIN")
    assert buttons(home, ids.PAUSE_PROJECT) == ["support", "restricted"]
    text = text_of(home)
    assert "Projects you administer" in text and "Backlog *0* queued · 3 open" in text
    assert "*0* open escalation(s)" in text and "Last digest: never · model: none" in text
    assert "Running" in text
    # Administering is not labeling: the admin is neither project's annotator.
    assert buttons(home, ids.START_LABELING) == [] and "Projects you label" not in text


def test_expert_home_lists_routed_escalations_and_follows_them(bot, slack):
    bot.import_items([{"id": "e-1", "text": "Refund for a crash?", "language": "de"}])
    bot.start()
    (message,) = wait_items(slack, 1)
    before = open_home(slack, "U0FIN")
    assert "Escalations waiting for you" not in text_of(before)

    for user, label in (("U0ANN1", "billing"), ("U0ANN2", "bug"), ("U0ANN3", "other")):
        slack.click(user, CHANNEL, message["ts"], f"label:{label}")
    # The thread's post refreshes the routed experts' Home by itself (billing → U0FIN).
    home = slack.wait_for(
        lambda: (h := slack.home("U0FIN")) and "Escalations waiting for you" in text_of(h) and h, timeout=20
    )
    text = text_of(home)
    assert "item `e-1`" in text and "waiting 0 min" in text
    assert f"<https://slack.com/archives/{CHANNEL}/p" in text and "|open the thread>" in text
    post = next(m for m in slack.thread(CHANNEL, message["ts"]) if m["ts"] != message["ts"])
    assert f"/p{post['ts'].replace('.', '')}?thread_ts={message['ts']}&cid={CHANNEL}" in text
    # A member of a routed group sees it too; an annotator does not.
    assert "item `e-1`" in text_of(open_home(slack, "U0GRPMEM"))
    assert "Escalations waiting for you" not in text_of(open_home(slack, "U0ANN1"))

    slack.click("U0EXPERT", CHANNEL, post["ts"], "decide:bug")
    slack.wait_for(lambda: "Escalations waiting for you" not in text_of(slack.home("U0FIN")), timeout=20)


# -- pause and resume ---------------------------------------------------------------------------------
def test_pause_stops_new_items_and_resume_restarts_them(bot, slack):
    bot.configure(max_open=1)
    bot.import_items(ITEMS)
    bot.start()
    (first,) = wait_items(slack, 1)
    home = open_home(slack, "U0ADMIN")
    slack.click_in_view("U0ADMIN", home["id"], ids.PAUSE_PROJECT, "support")
    home = slack.wait_for(lambda: (h := slack.home("U0ADMIN")) and buttons(h, ids.RESUME_PROJECT) and h)
    assert "is paused" in text_of(home) and "*Paused* by <@U0ADMIN>" in text_of(home)
    assert buttons(open_home(slack, "U0ANN1"), ids.START_LABELING) == []  # paused: no Start button

    # Labels on the open item still count, and its message is still refreshed; nothing new is posted.
    for user in ("U0ANN1", "U0ANN2", "U0ANN3"):
        slack.click(user, CHANNEL, first["ts"], "label:bug")
    slack.wait_for(lambda: "Labeled *Bug*" in message_text(slack.message(CHANNEL, first["ts"])), timeout=15)
    time.sleep(2.5)  # more than two dispatcher rounds
    assert len(item_messages(slack)) == 1
    assert "queued" in bot.cli("status", "support").stdout

    slack.click_in_view("U0ADMIN", home["id"], ids.RESUME_PROJECT, "support")
    wait_items(slack, 2, timeout=15)
    home = slack.wait_for(lambda: (h := slack.home("U0ADMIN")) and buttons(h, ids.PAUSE_PROJECT) and h)
    assert "is resumed" in text_of(home)


def test_pause_refreshes_the_other_admins_home(bot, slack):
    bot.configure(experts={"default": ["U0EXPERT"], "admins": ["U0ADMIN", "U0DE"]})
    bot.start()
    assert buttons(open_home(slack, "U0DE"), ids.PAUSE_PROJECT) == ["support"]
    command(slack, "U0ADMIN", "pause support")
    slack.wait_for(lambda: buttons(slack.home("U0DE"), ids.RESUME_PROJECT) == ["support"], timeout=15)


# -- limits: pages and coalescing ---------------------------------------------------------------------
def test_a_long_home_is_paged_within_100_blocks(bot, slack):
    projects = [
        project_config(key=f"p{i:02d}", name=f"Project {i:02d}", channel=f"C0P{i:04d}", annotators=[])
        for i in range(60)
    ]
    configure(bot, slack, *projects)
    bot.start()
    home = open_home(slack, "U0ADMIN")  # labels all 60 and administers all 60: 120 entries
    assert len(home["blocks"]) <= 100
    assert "Page 1 of 5 · 120 entries" in text_of(home)
    assert buttons(home, ids.HOME_PAGE) == ["2"]
    assert "Project 00" in text_of(home) and "Project 30" not in text_of(home)
    slack.click_in_view("U0ADMIN", home["id"], ids.HOME_PAGE, "2")
    home = slack.wait_for(lambda: (h := slack.home("U0ADMIN")) and "Page 2 of 5" in text_of(h) and h)
    assert buttons(home, ids.HOME_PAGE) == ["1", "3"] and len(home["blocks"]) <= 100
    # The last page mixes the end of one list with the other, still with its header.
    slack.click_in_view("U0ADMIN", home["id"], ids.HOME_PAGE, "3")
    home = slack.wait_for(lambda: (h := slack.home("U0ADMIN")) and "Page 3 of 5" in text_of(h) and h)
    assert "Projects you label" in text_of(home) and "Projects you administer" in text_of(home)


def test_a_burst_of_changes_publishes_one_home(bot, slack):
    bot.start()
    homes = bot._served.runtime.homes
    now = [1000.0]
    homes.clock = lambda: now[0]  # the refresher's time only moves when the test moves it
    open_home(slack, "U0ADMIN")

    def published():
        return [c for c in slack.calls_to("views.publish") if c.params.get("user_id") == "U0ADMIN"]

    for i in range(10):  # as a person does: each command's answer before the next command
        command(slack, "U0ADMIN", "pause support" if i % 2 == 0 else "resume support")
        slack.wait_for(lambda i=i: len(slack.ephemerals(user="U0ADMIN")) >= i + 1, timeout=20)
    homes.wake()
    assert len(published()) == 1  # the tab's own publish; ten changes wait for the interval

    now[0] += homes.interval
    homes.wake()
    slack.wait_for(lambda: len(published()) == 2, timeout=10)
    homes.wake()  # nothing is left dirty: a further round publishes nothing
    slack.wait_for(lambda: not homes._dirty, timeout=5)
    assert len(published()) == 2
    assert buttons(slack.home("U0ADMIN"), ids.PAUSE_PROJECT) == ["support"]  # ten toggles: running


# -- /label ---------------------------------------------------------------------------------------------
def test_help_unknown_and_wrong_arguments_are_answered_in_the_ack(bot, slack):
    bot.start()
    help_ = json.dumps(command(slack, "U0ANN1", "help").body)
    for sub in ("next", "mine", "stats", "guidelines", "pause", "resume", "help"):
        assert f"/label {sub}" in help_
    assert "/label help" in json.dumps(command(slack, "U0ANN1", "").body)
    assert "I don't know `frobnicate`" in json.dumps(command(slack, "U0ANN1", "frobnicate <!here>").body)
    assert "takes nothing after it" in json.dumps(command(slack, "U0ANN1", "mine support").body)
    assert "one project key at most" in json.dumps(command(slack, "U0ANN1", "stats a b").body)


def test_unknown_project_and_refusals_are_ephemeral(bot, slack):
    configure(bot, slack, project_config(), restricted())
    bot.start()
    command(slack, "U0ANN1", "next nope<@U0ADMIN>")
    assert "No project `nope&lt;@U0ADMIN&gt;`" in ephemeral(slack, "U0ANN1", "No project")["text"]
    command(slack, "U0ANN1", "next restricted")
    ephemeral(slack, "U0ANN1", "not one of this project's annotators")
    command(slack, "U0OUTSIDE", "next")
    ephemeral(slack, "U0OUTSIDE", "not one of the annotators of any project")
    command(slack, "U0ANN1", "pause support")
    ephemeral(slack, "U0ANN1", "Only this project's admins")
    command(slack, "U0ANN1", "resume")
    ephemeral(slack, "U0ANN1", "you administer none")
    command(slack, "U0ADMIN", "pause")  # administers both: which one?
    asked = ephemeral(slack, "U0ADMIN", "Which project?")["text"]
    assert "`support`" in asked and "`restricted`" in asked and "/label pause PROJECT" in asked
    command(slack, "U0ANN1", "guidelines nope")
    ephemeral(slack, "U0ANN1", "No project `nope`")


def test_pause_and_resume_commands(bot, slack):
    bot.start()
    command(slack, "U0ADMIN", "pause support")
    ephemeral(slack, "U0ADMIN", "is paused: no new item is posted")
    command(slack, "U0ADMIN", "pause")  # their only project
    ephemeral(slack, "U0ADMIN", "was already paused by <@U0ADMIN>")
    command(slack, "U0ADMIN", "resume support")
    ephemeral(slack, "U0ADMIN", "is resumed")
    command(slack, "U0ADMIN", "resume support")
    ephemeral(slack, "U0ADMIN", "is not paused")


def test_guidelines_opens_the_modal(bot, slack):
    bot.start()
    command(slack, "U0ANN1", "guidelines")  # their only project
    (view,) = slack.wait_for(lambda: slack.open_views("U0ANN1"), timeout=15)
    assert view["title"]["text"] == "Guidelines" and "Label what the customer" in text_of(view)


def test_mine_and_stats(bot, slack):
    bot.configure(digest={"channel": None})
    bot.import_items(ITEMS[:1])
    bot.start()
    (message,) = wait_items(slack, 1)
    for user in ("U0ANN1", "U0ANN2", "U0ANN3"):
        slack.click(user, CHANNEL, message["ts"], "label:bug")
    slack.wait_for(lambda: "Labeled *Bug*" in message_text(slack.message(CHANNEL, message["ts"])), timeout=15)
    command(slack, "U0ANN1", "mine")
    mine = ephemeral(slack, "U0ANN1", "Your last 7 days")["text"]
    assert "*1* label(s) · agreement with the final label 100% (of 1)" in mine
    assert "gold accuracy – (of 0)" not in mine and "gold accuracy –" in mine
    assert "• *Support tickets*" in mine
    command(slack, "U0ANN1", "stats")  # their only project
    ephemeral(slack, "U0ANN1", "Quality digest", timeout=20)


def test_a_home_button_during_a_database_outage_tells_the_user_in_a_modal(bot, slack):
    bot.configure(max_open=1)
    bot.import_items(ITEMS)
    bot.start()
    wait_items(slack, 1)
    home = open_home(slack, "U0ADMIN")
    runtime = bot._served.runtime
    reachable = runtime.factory
    # The database stops answering: connections are refused (a port nothing listens on).
    runtime.factory = make_session_factory(make_engine("postgresql+psycopg://postgres@127.0.0.1:9/labelbot"))
    try:
        slack.click_in_view("U0ADMIN", home["id"], ids.PAUSE_PROJECT, "support")
        (notice,) = slack.wait_for(lambda: slack.open_views("U0ADMIN"), timeout=15)
    finally:
        runtime.factory.kw["bind"].dispose()
        runtime.factory = reachable
    assert "cannot reach its database" in text_of(notice) and "*not done*" in text_of(notice)
    assert "Running" in text_of(open_home(slack, "U0ADMIN"))  # and indeed nothing was paused
