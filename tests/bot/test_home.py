"""What App Home shows, without Slack: the week's figures, routed escalations, project health,
pause and resume."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot import admin
from bot.authorization import Action, Authorizer
from bot.home import administered, build_home, labelable, week_figures
from bot.items import get_project
from bot.labeling import record_label
from bot.refs import ItemRef
from storage.db import session_scope
from storage.models import Digest, DigestStatus, Escalation, Item, ItemStatus, Label, ModelVersion
from tests.bot.conftest import add_items, allow, make_config
from tests.bot.test_authorization import StaticGroups

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def authorizer():
    return Authorizer(StaticGroups({"S0EXP": ["U0GEXP"], "S0ANN": ["U0GANN"]}))


def label(session, project, user, item_id, value, at):
    record_label(session, allow(project, user), ItemRef(item_id, 1), value, now=at)
    # The label's time is the time of its current value (as in the reports).
    row = session.scalar(select(Label).where(Label.item_id == item_id, Label.user_id == user))
    row.updated_at = at


def test_week_counts_labels_agreement_with_the_final_label_and_gold(factory, config, project):
    ids = add_items(factory, 5)
    with session_scope(factory) as session:
        for i, gold in ((0, "bug"), (1, "billing")):
            session.get(Item, ids[i]).gold_label = gold
        # Item 0: U1 agrees with two others (resolved bug, gold bug): agreed, gold right.
        for user in ("U1", "U2", "U3"):
            label(session, project, user, ids[0], "bug", NOW - timedelta(days=1))
        # Item 1: U1 says bug, the others billing: resolved billing; U1 disagrees, gold wrong.
        label(session, project, "U1", ids[1], "bug", NOW - timedelta(days=2))
        for user in ("U2", "U3"):
            label(session, project, user, ids[1], "billing", NOW - timedelta(days=2))
        # Item 2: open, one label: counts as a label, not in agreement.
        label(session, project, "U1", ids[2], "other", NOW - timedelta(hours=1))
        # Item 3: labeled eight days ago: outside the week.
        label(session, project, "U1", ids[3], "bug", NOW - timedelta(days=8))
    with session_scope(factory) as session:
        assert session.get(Item, ids[0]).status == ItemStatus.RESOLVED
        total, support = week_figures(session, config, "U1", NOW)
    assert (total.labels, total.resolved, total.agreed, total.gold, total.gold_right) == (3, 2, 1, 2, 1)
    assert total.agreement == pytest.approx(0.5) and total.gold_accuracy == pytest.approx(0.5)
    assert support.project == "support" and support.labels == 3
    with session_scope(factory) as session:
        (nobody,) = week_figures(session, config, "U9", NOW)
    assert nobody.labels == 0 and nobody.agreement is None and nobody.gold_accuracy is None


def test_projects_by_role(authorizer):
    config = make_config(annotators=["U0ANN", "S0ANN"])
    assert [p.key for p in labelable(config, authorizer, "U0ANN")] == ["support"]
    assert [p.key for p in labelable(config, authorizer, "U0GANN")] == ["support"]  # via the group
    assert labelable(config, authorizer, "U0OTHER") == []
    assert [p.key for p in administered(config, authorizer, "U0ADMIN")] == ["support"]
    assert administered(config, authorizer, "U0ANN") == []


def test_home_lists_escalations_routed_to_the_user_with_age_and_thread(factory, project, authorizer):
    config = make_config(
        experts={"default": ["S0EXP"], "by_label": {"billing": ["U0FIN"]}, "admins": ["U0ADMIN"]}
    )
    project = config.projects[0]
    first, second = add_items(factory, 2)
    with session_scope(factory) as session:
        for item_id, labels in ((first, ("billing", "bug", "other")), (second, ("bug", "other", "bug"))):
            for user, value in zip(("U1", "U2", "U3"), labels, strict=True):
                record_label(session, allow(project, user), ItemRef(item_id, 1), value)
        # Only the first disagreement involves billing; the second resolved as bug (2 of 3 ≥ 0.66).
        esc = session.scalar(select(Escalation).where(Escalation.item_id == first))
        esc.created_at, esc.thread_ts = NOW - timedelta(hours=5), "1700000001.000100"
    with session_scope(factory) as session:
        fin = build_home(session, config, authorizer, "U0FIN", NOW)
        group_member = build_home(session, config, authorizer, "U0GEXP", NOW)
        annotator = build_home(session, config, authorizer, "U1", NOW)
    (routed,) = fin.escalations
    assert (routed.item_external_id, routed.thread_ts, routed.channel) == (
        "item-0",
        "1700000001.000100",
        "C0LABELS",
    )
    assert routed.parent_ts == "1700000000.000000" and routed.age == timedelta(hours=5)
    assert [e.escalation_id for e in group_member.escalations] == [routed.escalation_id]
    assert annotator.escalations == [] and annotator.admin == []
    assert fin.projects and fin.projects[0].labeled_by_you == 0  # everyone may label this project


def test_health_and_pause(factory, project, authorizer):
    config = make_config()
    add_items(factory, 2)
    add_items(factory, 1, open_=False)  # item-0 again: unchanged, still open
    with session_scope(factory) as session:
        pid = get_project(session, "support").id
        session.add(ModelVersion(project_id=pid, version=1, status="trained"))
        session.add(ModelVersion(project_id=pid, version=2, status="failed"))
        session.add(
            Digest(
                project_id=pid,
                period_start=NOW - timedelta(days=7),
                period_end=NOW,
                status=DigestStatus.POSTED,
                posted_at=NOW - timedelta(days=1),
            )
        )
    with session_scope(factory) as session:
        (health,) = build_home(session, config, authorizer, "U0ADMIN", NOW).admin
    assert (health.queued, health.open, health.escalations) == (0, 2, 0)
    assert health.model_version == 1 and health.last_digest == NOW - timedelta(days=1)
    assert not health.paused

    permit = allow(project, "U0ADMIN", Action.ADMIN)
    with session_scope(factory) as session:
        done = admin.pause(session, permit, NOW)
        again = admin.pause(session, allow(project, "U0OTHERADMIN", Action.ADMIN), NOW + timedelta(hours=1))
        assert admin.is_paused(session, pid) and admin.paused_project_ids(session) == {pid}
    assert done.changed and not again.changed
    assert (again.paused_by, again.paused_at) == ("U0ADMIN", NOW)  # the first pause stands
    with session_scope(factory) as session:
        (health,) = build_home(session, config, authorizer, "U0ADMIN", NOW).admin
        assert health.paused and health.paused_by == "U0ADMIN"
        assert build_home(session, config, authorizer, "U1", NOW).projects[0].paused
        assert admin.resume(session, permit, NOW).changed and not admin.resume(session, permit, NOW).changed
        assert not admin.is_paused(session, pid)


def test_pause_needs_an_admin_permit(factory, project):
    with session_scope(factory) as session, pytest.raises(PermissionError):
        admin.pause(session, allow(project, "U1", Action.LABEL), NOW)
