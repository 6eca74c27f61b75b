"""Every entry point × every role, against the real bot through the Slack emulator.

``ENTRIES`` is the data table: each row is one way into the bot (a button, a modal, a command,
the shortcut), the action of ``bot.authorization`` it needs, how a user uses it, what it records
when allowed, and where a refusal is told. ``ALLOWED`` says, independently of ``RULES``, which
roles may do each action. For every row and every role: an allowed user's use records its effect;
a refused user's records nothing (no row anywhere carries their name) and they alone are told why.

Guards keep the tables complete: every action has a row, and every route the app registers is
either in a row, mapped to the action it asks (``ROUTE_ACTIONS``), or said to need none and why.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, text

from bot.authorization import Action
from bot.slack import ids
from bot.slack.listeners import ROUTES
from bot.slack.listeners.commands import NEEDS
from storage.db import make_engine
from tests.scenarios.conftest import CHANNEL, item_messages, message_text, project_config, wait_items

AUDIT_CHANNEL = "C0AUDITS"

#: One user per role (the emulator's users; see ``tests/scenarios/conftest.py``).
ROLES = {
    "annotator": "U0ANN1",
    "member of an annotator group": "U0GRPANN",  # S0ANNGRP is in ``annotators``
    "default expert (the auditor)": "U0EXPERT",  # experts.default: routed every time
    "expert routed by label": "U0FIN",  # by_label billing: every escalation here involves billing
    "expert not routed": "U0DE",  # by_field language de: the items are in English
    "member of an expert group": "U0GRPMEM",  # S0EXPERTS is in experts.default
    "admin (by group)": "U0ADMIN",  # S0ADMINS is experts.admins
    "submitter": "U0ANN4",  # in ``submitters`` only
    "outsider": "U0OUTSIDE",
}
LABELERS = {"annotator", "member of an annotator group"}
DECIDERS = {"default expert (the auditor)", "expert routed by label", "member of an expert group"}
EXPERTS = {*DECIDERS, "expert not routed"}
ADMIN = {"admin (by group)"}

#: Who may do what, written out by role (not read from RULES: this is what the test holds it to).
ALLOWED: dict[Action, set[str]] = {
    Action.LABEL: LABELERS,
    Action.ESCALATE: LABELERS,
    Action.DECIDE: DECIDERS | ADMIN,
    Action.AUDIT: {"default expert (the auditor)"} | ADMIN,
    Action.VIEW: LABELERS | EXPERTS | ADMIN,
    Action.ADMIN: ADMIN,
    Action.REVEAL: ADMIN,
    Action.SUBMIT: {"submitter"},
}


def config(**overrides: Any) -> dict[str, Any]:
    return project_config(
        annotators=["U0ANN1", "U0ANN2", "U0ANN3", "S0ANNGRP"],
        submitters=["U0ANN4"],
        experts={
            "default": ["U0EXPERT", "S0EXPERTS"],
            "by_label": {"billing": ["U0FIN"]},
            "by_field": {"language": {"de": ["U0DE"]}},
            "admins": ["S0ADMINS"],
        },
        max_open=20,
        **overrides,
    )


# -- what the database holds of one user ----------------------------------------------------------------
FOOTPRINT = {
    "labels": "SELECT count(*) FROM labels WHERE user_id = :u",
    "skips": "SELECT count(*) FROM skips WHERE user_id = :u",
    "item_events": "SELECT count(*) FROM item_events WHERE actor = :u",
    "escalations raised": "SELECT count(*) FROM escalations WHERE raised_by = :u",
    "escalations decided": "SELECT count(*) FROM escalations WHERE decided_by = :u",
    "admin_events": "SELECT count(*) FROM admin_events WHERE actor = :u",
    "labeling_sessions": "SELECT count(*) FROM labeling_sessions WHERE user_id = :u",
    "paused": "SELECT count(*) FROM projects WHERE paused_by = :u",
}


_engines: dict[str, Engine] = {}


@pytest.fixture(autouse=True)
def _dispose_engines() -> Iterator[None]:
    yield
    while _engines:
        _engines.popitem()[1].dispose()


def footprint(bot: Any, user: str) -> dict[str, int]:
    url = bot.env["DATABASE_URL"]
    engine = _engines.get(url) or _engines.setdefault(url, make_engine(url))
    with engine.connect() as conn:
        return {
            name: int(conn.execute(text(sql), {"u": user}).scalar_one()) for name, sql in FOOTPRINT.items()
        }


# -- how each entry point is used ------------------------------------------------------------------------
@dataclass
class World:
    """What a row's setup prepared: one target (item message, thread post, audit…) per role."""

    bot: Any
    slack: Any
    targets: dict[str, str]


def _items(bot: Any, slack: Any, n: int, language: str = "en") -> list[dict[str, Any]]:
    bot.import_items(
        [{"id": f"r-{i}", "text": f"Ticket {i} <!channel>", "language": language} for i in range(n)]
    )
    bot.start()
    return wait_items(slack, n)


def assign(action: Action, targets: list[str]) -> dict[str, str]:
    """Each allowed role its own target (what it does uses one up); the refused share the last."""
    allowed = [role for role in ROLES if role in ALLOWED[action]]
    mine = dict(zip(allowed, targets, strict=False))
    return {role: mine.get(role, targets[-1]) for role in ROLES}


def setup_one(bot: Any, slack: Any, action: Action) -> World:
    """One item that every role uses: what they do leaves it open for the next."""
    bot.configure(**config())
    (message,) = _items(bot, slack, 1)
    return World(bot, slack, dict.fromkeys(ROLES, message["ts"]))


def setup_long(bot: Any, slack: Any, action: Action) -> World:
    """One item too long for its message: it has Show full text."""
    bot.configure(**config())
    bot.import_items([{"id": "r-0", "text": "A long ticket. " * 400, "language": "en"}])
    bot.start()
    (message,) = wait_items(slack, 1)
    return World(bot, slack, dict.fromkeys(ROLES, message["ts"]))


def setup_items(bot: Any, slack: Any, action: Action) -> World:
    bot.configure(**config())
    messages = _items(bot, slack, len(ALLOWED[action]) + 1)
    return World(bot, slack, assign(action, [m["ts"] for m in messages]))


def setup_escalations(bot: Any, slack: Any, action: Action) -> World:
    """Escalations by disagreement (billing, bug, other): routed to the default experts and to the
    billing expert."""
    bot.configure(**config())
    messages = _items(bot, slack, len(ALLOWED[action]) + 1)
    posts = []
    for message in messages:
        for user, label in (("U0ANN1", "billing"), ("U0ANN2", "bug"), ("U0ANN3", "other")):
            slack.click(user, CHANNEL, message["ts"], f"label:{label}")
        posts.append(slack.wait_for(lambda m=message: _decision_post(slack, m["ts"]), timeout=20))
    return World(bot, slack, assign(action, posts))


def _decision_post(slack: Any, ts: str) -> str | None:
    for reply in slack.thread(CHANNEL, ts):
        if reply["ts"] != ts and "decide:" in json.dumps(reply.get("blocks")):
            return str(reply["ts"])
    return None


def setup_audits(bot: Any, slack: Any, action: Action) -> World:
    """Audits in the audit channel (``audit_rate`` 1: every consensus is audited), all sent to the
    default expert (the only user among experts.default and experts.admins)."""
    slack.add_channel(AUDIT_CHANNEL, "audits", members=[*ROLES.values(), "UBOT"])
    bot.configure(**config(quality={"audit_rate": 1.0, "audit_channel": AUDIT_CHANNEL}))
    n = len(ALLOWED[action]) + 1
    for message in _items(bot, slack, n):
        for user in ("U0ANN1", "U0ANN2", "U0ANN3"):
            slack.click(user, CHANNEL, message["ts"], "label:bug")

    def audits() -> list[str] | None:
        found = [m["ts"] for m in slack.messages(AUDIT_CHANNEL) if "audit:" in json.dumps(m.get("blocks"))]
        return found if len(found) >= n else None

    return World(bot, slack, assign(action, slack.wait_for(audits, timeout=30)))


def setup_paused(bot: Any, slack: Any, action: Action) -> World:
    world = setup_one(bot, slack, action)
    command(slack, "U0ADMIN", "pause support")
    slack.wait_for(lambda: footprint(bot, "U0ADMIN")["paused"] == 1, timeout=10)
    return world


def setup_general(bot: Any, slack: Any, action: Action) -> World:
    """A message in another public channel, to send to labeling."""
    slack.add_channel("C0GENERAL", "general", members=[*ROLES.values()])
    bot.configure(**config())
    bot.start()
    slack.user_posts("U0OUTSIDE", "C0GENERAL", "Where is my refund?")
    (source,) = slack.messages("C0GENERAL")
    return World(bot, slack, dict.fromkeys(ROLES, source["ts"]))


def command(slack: Any, user: str, line: str) -> None:
    delivery = slack.slash_command(user, CHANNEL, "/label", line)
    assert delivery.status == 200 and delivery.acked


def _modal(slack: Any, user: str) -> dict[str, Any]:
    """The modal the bot opened for ``user`` (an allowed user's click opens one)."""
    return dict(slack.wait_for(lambda: slack.open_views(user), timeout=10)[-1])


def use_label(w: World, role: str, user: str) -> None:
    w.slack.click(user, CHANNEL, w.targets[role], "label:bug")


def use_escalate(w: World, role: str, user: str) -> None:
    w.slack.click(user, CHANNEL, w.targets[role], "escalate")
    if role in ALLOWED[Action.ESCALATE]:
        view = _modal(w.slack, user)
        w.slack.submit_view(user, view["id"], {"reason": {"value": "Needs an expert"}})


def use_decide(w: World, role: str, user: str) -> None:
    w.slack.click(user, CHANNEL, w.targets[role], "decide:bug")


def use_send_back(w: World, role: str, user: str) -> None:
    w.slack.click(user, CHANNEL, w.targets[role], ids.SEND_BACK)
    if role in ALLOWED[Action.DECIDE]:
        view = _modal(w.slack, user)
        w.slack.submit_view(user, view["id"], {"note": {"value": "Read the guidelines again"}})


def use_audit(w: World, role: str, user: str) -> None:
    w.slack.click(user, AUDIT_CHANNEL, w.targets[role], "audit:billing")


def use_guidelines(w: World, role: str, user: str) -> None:
    w.slack.click(user, CHANNEL, w.targets[role], ids.GUIDELINES)


def use_full_text(w: World, role: str, user: str) -> None:
    w.slack.click(user, CHANNEL, w.targets[role], ids.FULL_TEXT)


def use_submit(w: World, role: str, user: str) -> None:
    delivery = w.slack.message_shortcut(user, "C0GENERAL", w.targets[role], ids.SEND_TO_LABELING)
    assert delivery.acked
    view = w.slack.wait_for(lambda: w.slack.open_views(user), timeout=10)[-1]
    if view.get("submit"):  # the send modal (a refusal modal has no submit button)
        w.slack.submit_view(user, view["id"], {"project": {"value": "support"}})


def subcommand(line: str) -> Callable[[World, str, str], None]:
    def use(w: World, role: str, user: str) -> None:
        command(w.slack, user, line)

    use.__name__ = f"command {line}"
    return use


# -- what is recorded, what is said --------------------------------------------------------------------
def grew(*names: str) -> Callable[[dict[str, int], dict[str, int]], bool]:
    def check(before: dict[str, int], after: dict[str, int]) -> bool:
        return all(after[n] > before[n] for n in names)

    return check


def ephemeral_says(needle: str) -> Callable[[Any, str], bool]:
    def check(slack: Any, user: str) -> bool:
        return any(needle in json.dumps(e, ensure_ascii=False) for e in slack.ephemerals(user=user))

    return check


def modal_says(needle: str) -> Callable[[Any, str], bool]:
    def check(slack: Any, user: str) -> bool:
        return any(needle in json.dumps(v, ensure_ascii=False) for v in slack.open_views(user))

    return check


def modal_opened(slack: Any, user: str) -> bool:
    return bool(slack.open_views(user))


@dataclass(frozen=True)
class Entry:
    name: str
    action: Action
    routes: tuple[str, ...]  # the routes it goes through (``Route.name``)
    setup: Callable[[Any, Any, Action], World]
    use: Callable[[World, str, str], None]
    recorded: Callable[[dict[str, int], dict[str, int]], bool] | None  # None: it only shows something
    shown: Callable[[Any, str], bool]  # what the allowed user sees
    refused: Callable[[Any, str], bool]  # the private explanation a refused user gets


ENTRIES = [
    Entry(
        "label button", Action.LABEL, ("label:<value>",), setup_one, use_label,
        grew("labels", "item_events"), ephemeral_says("Bug"), ephemeral_says("not one of this project"),
    ),
    Entry(
        "/label next", Action.LABEL, ("/label",), setup_one, subcommand("next support"),
        grew("labeling_sessions"), ephemeral_says("direct messages"), ephemeral_says("not one of this project"),
    ),
    Entry(
        "escalate button and modal", Action.ESCALATE, ("escalate", "escalate_modal"), setup_items, use_escalate,
        grew("escalations raised", "item_events"), lambda s, u: True, ephemeral_says("not one of this project"),
    ),
    Entry(
        "decision button", Action.DECIDE, ("decide:<value>",), setup_escalations, use_decide,
        grew("escalations decided", "item_events"), lambda s, u: True, ephemeral_says("Only the experts"),
    ),
    Entry(
        "send back button and modal", Action.DECIDE, ("send_back", "send_back_modal"), setup_escalations,
        use_send_back, grew("escalations decided", "item_events"), lambda s, u: True,
        ephemeral_says("Only the experts"),
    ),
    Entry(
        "audit button", Action.AUDIT, ("audit:<value>",), setup_audits, use_audit,
        grew("item_events"), lambda s, u: True, ephemeral_says("assigned to someone else"),
    ),
    Entry(
        "guidelines button", Action.VIEW, ("guidelines",), setup_one, use_guidelines,
        None, modal_opened, ephemeral_says("annotators, experts and admins can see"),
    ),
    Entry(
        "show full text button", Action.VIEW, ("full_text",), setup_long, use_full_text,
        None, modal_says("A long ticket."), ephemeral_says("annotators, experts and admins can see"),
    ),
    Entry(
        "/label guidelines", Action.VIEW, ("/label",), setup_one, subcommand("guidelines support"),
        None, modal_opened, ephemeral_says("annotators, experts and admins can see"),
    ),
    Entry(
        "/label stats", Action.VIEW, ("/label",), setup_one, subcommand("stats support"),
        None, ephemeral_says("Support tickets"), ephemeral_says("annotators, experts and admins can see"),
    ),
    Entry(
        "/label pause", Action.ADMIN, ("/label",), setup_one, subcommand("pause support"),
        grew("admin_events", "paused"), ephemeral_says("paused"), ephemeral_says("Only this project"),
    ),
    Entry(
        "/label resume", Action.ADMIN, ("/label",), setup_paused, subcommand("resume support"),
        grew("admin_events"), ephemeral_says("resumed"), ephemeral_says("Only this project"),
    ),
    Entry(
        "/label reveal", Action.REVEAL, ("/label",), setup_one, subcommand("reveal support r-0"),
        grew("admin_events"), ephemeral_says("Ticket 0 &lt;!channel&gt;"),
        ephemeral_says("admins can reveal an item"),
    ),
    Entry(
        "send to labeling", Action.SUBMIT, ("send_to_labeling", "send_to_labeling_modal"), setup_general,
        use_submit, grew("item_events"), modal_says("queued for labeling"),
        modal_says("You may not send messages to any project"),
    ),
]  # fmt: skip

#: Every route, and the action it asks for (None: it needs none, and why). A route in a row above is
#: walked there; the others share that row's listener or domain check.
ROUTE_ACTIONS: dict[str, Action | str] = {
    "label:<value>": Action.LABEL,
    "label_select": Action.LABEL,  # labels.label_click, as the buttons
    "undo": Action.LABEL,  # labels._apply
    "skip": Action.LABEL,
    "start_labeling": Action.LABEL,  # sessions._start, as /label next
    "dm_label:<value>": Action.LABEL,  # sessions._apply
    "dm_label_select": Action.LABEL,
    "dm_skip": Action.LABEL,
    "dm_undo": Action.LABEL,
    "dm_stop": Action.LABEL,
    "dm_next": Action.LABEL,
    "guidelines": Action.VIEW,
    "full_text": Action.VIEW,  # openers.open_full_text, as open_guidelines
    "escalate": Action.ESCALATE,
    "decide_note": Action.DECIDE,  # openers.open_decision, as send_back
    "send_back": Action.DECIDE,
    "decide:<value>": Action.DECIDE,
    "audit:<value>": Action.AUDIT,
    "escalate_modal": Action.ESCALATE,
    "decide_modal": Action.DECIDE,  # decisions.decide_now, as the decision buttons
    "send_back_modal": Action.DECIDE,
    "/label": "each subcommand about a project asks its action (commands.NEEDS); help and mine show your own",
    "app_home_opened": "your own Home: each list is built from the checks (labelable, administered, routed)",
    "pause_project": Action.ADMIN,  # slack.home.set_paused, as /label pause
    "resume_project": Action.ADMIN,
    "home_page": "your own Home, another page",
    "send_to_labeling": Action.SUBMIT,
    "send_to_labeling_modal": Action.SUBMIT,
    "message": "discussion in an escalation thread: stored from anyone in the thread",
}


def test_every_action_and_route_has_its_row():
    assert {entry.action for entry in ENTRIES} == set(Action)
    assert set(ALLOWED) == set(Action)
    assert set(ROUTE_ACTIONS) == {route.name for route in ROUTES}
    walked = {name for entry in ENTRIES for name in entry.routes}
    assert walked <= set(ROUTE_ACTIONS)
    for entry in ENTRIES:
        for name in entry.routes:
            assert ROUTE_ACTIONS[name] == entry.action or name == "/label", (entry.name, name)
    subcommands = {entry.use.__name__.removeprefix("command ").split()[0] for entry in ENTRIES}
    assert set(NEEDS) <= subcommands, "a /label subcommand about a project without its row"


@pytest.mark.parametrize("entry", ENTRIES, ids=[entry.name.strip("/").replace(" ", "-") for entry in ENTRIES])
def test_each_role_is_allowed_or_refused_privately(entry, bot, slack):
    slack.add_usergroup("S0ADMINS", "admins", ["U0ADMIN"])
    world = entry.setup(bot, slack, entry.action)
    for role, user in ROLES.items():
        before = footprint(bot, user)
        others = {u: footprint(bot, u) for r, u in ROLES.items() if r != role}
        entry.use(world, role, user)
        if role in ALLOWED[entry.action]:
            slack.wait_for(lambda u=user: entry.shown(slack, u), timeout=15)
            if entry.recorded is not None:
                slack.wait_for(lambda u=user, b=before: entry.recorded(b, footprint(bot, u)), timeout=15)
            else:
                assert footprint(bot, user) == before, (entry.name, role)
        else:
            slack.wait_for(lambda u=user: entry.refused(slack, u), timeout=15)
            assert footprint(bot, user) == before, (entry.name, role, "recorded a refused use")
            # Told privately: no one else was told, nothing public names them.
            for other_role, other in ROLES.items():
                if other_role != role:
                    assert footprint(bot, other) == others[other], (entry.name, role, other_role)
        for view in slack.open_views(user):  # leave no modal open for the next entry's check
            slack.close_view(user, view["id"])
    assert not any(
        "not one of this project" in message_text(m) or "Only this project" in message_text(m)
        for m in [*item_messages(slack), *slack.messages(CHANNEL)]
    ), "a refusal was posted in the channel"
