"""Group commit: one transaction for the clicks of one pass of the event loop, acks after it."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event, func, select

from bot.group_commit import GroupCommit
from bot.labeling import record_label
from bot.refs import ItemRef
from storage.db import read_scope
from storage.models import ItemEvent, Label
from tests.bot.conftest import add_items, allow


@pytest.fixture
def factory(committing_factory):
    """A database of the test's own: group commit runs clicks in transactions of its own and reads from others."""
    return committing_factory


@pytest.fixture
def commits(engine):
    counted: list[int] = []
    event.listen(engine, "commit", lambda conn: counted.append(1))
    yield counted


def labels_seen_elsewhere(factory, item_id) -> int:
    with read_scope(factory) as session:
        return session.scalar(select(func.count()).select_from(Label).where(Label.item_id == item_id))


def test_clicks_of_one_pass_share_one_commit_and_resolve_after_it(factory, project, commits):
    (item_id,) = add_items(factory, 1)
    group = GroupCommit(factory)
    seen_before_commit: list[int] = []
    after_commit: list[int] = []

    def click(user: str, value: str):
        def fn():
            with group.session() as session:
                result = record_label(session, allow(project, user), ItemRef(item_id, 1), value)
            seen_before_commit.append(labels_seen_elsewhere(factory, item_id))
            assert group.defer(lambda: after_commit.append(labels_seen_elsewhere(factory, item_id)))
            return result

        return fn

    async def main():
        return await asyncio.gather(
            *(group.run(click(u, v)) for u, v in (("U1", "bug"), ("U2", "bug"), ("U3", "other")))
        )

    commits.clear()
    results = asyncio.run(main())
    assert [r.kind for r in results] == ["recorded"] * 3
    # Each click saw the ones before it: the third closed the item with all three votes.
    assert [r.card.n_labels for r in results] == [1, 2, 3] and results[2].card.status == "resolved"
    assert len(commits) == 1 and group.groups == 1
    assert seen_before_commit == [0, 0, 0]  # nothing was visible, let alone acknowledged, before the commit
    assert after_commit == [3, 3, 3]  # what ran after the acks ran after the commit


def test_a_failing_click_rolls_the_group_back_and_each_runs_alone(factory, project, commits):
    ids = add_items(factory, 2)
    group = GroupCommit(factory)
    answered: list[str] = []
    attempts: list[str] = []

    def click(user: str, item_id: int, fail: bool = False):
        def fn():
            attempts.append(user)
            with group.session() as session:
                result = record_label(session, allow(project, user), ItemRef(item_id, 1), "bug")
                if fail:
                    raise RuntimeError("boom")
            if not group.defer(lambda: answered.append(user)):
                answered.append(user)
            return result.kind

        return fn

    async def main():
        return await asyncio.gather(
            group.run(click("U1", ids[0])),
            group.run(click("U2", ids[0], fail=True)),
            group.run(click("U3", ids[1])),
            return_exceptions=True,
        )

    first, second, third = asyncio.run(main())
    assert first == third == "recorded" and isinstance(second, RuntimeError)
    assert attempts == ["U1", "U2", "U1", "U2", "U3"]  # the group stopped at the failure, then each alone
    assert answered == ["U1", "U3"]  # the rolled-back attempt's answers were dropped, not sent
    with read_scope(factory) as session:
        rows = session.execute(select(Label.item_id, Label.user_id).order_by(Label.id)).all()
        history = session.scalars(select(ItemEvent.actor).where(ItemEvent.action == "label")).all()
    assert [tuple(r) for r in rows] == [(ids[0], "U1"), (ids[1], "U3")]
    assert sorted(history) == ["U1", "U3"]  # recorded once each, nothing of the failed click
    assert group.groups == 0


def test_a_failed_commit_fails_every_click_of_the_group(factory, project, engine):
    ids = add_items(factory, 2)
    group = GroupCommit(factory)

    def refuse(conn):
        raise RuntimeError("disk full")

    def click(user: str, item_id: int):
        def fn():
            with group.session() as session:
                return record_label(session, allow(project, user), ItemRef(item_id, 1), "bug").kind

        return fn

    async def main():
        event.listen(engine, "commit", refuse)
        try:
            return await asyncio.gather(
                group.run(click("U1", ids[0])), group.run(click("U2", ids[1])), return_exceptions=True
            )
        finally:
            event.remove(engine, "commit", refuse)

    results = asyncio.run(main())
    assert all(isinstance(r, RuntimeError) for r in results)
    assert labels_seen_elsewhere(factory, ids[0]) == labels_seen_elsewhere(factory, ids[1]) == 0


def test_a_lone_click_and_clicks_off_the_loop_have_transactions_of_their_own(factory, project, commits):
    (item_id,) = add_items(factory, 1)
    group = GroupCommit(factory)

    def fn():
        with group.session() as session:
            assert not group.defer(lambda: None)  # not inside a group
            return record_label(session, allow(project, "U1"), ItemRef(item_id, 1), "bug").kind

    commits.clear()
    assert asyncio.run(group.run(fn)) == "recorded"
    with group.session() as session:  # a thread's click: session_scope, committed on exit
        record_label(session, allow(project, "U2"), ItemRef(item_id, 1), "bug")
    assert len(commits) == 2 and group.groups == 0 and labels_seen_elsewhere(factory, item_id) == 2


def test_groups_are_capped(factory, project, commits):
    ids = add_items(factory, 5)
    group = GroupCommit(factory, max_size=2)

    def click(item_id: int):
        def fn():
            with group.session() as session:
                return record_label(session, allow(project, "U1"), ItemRef(item_id, 1), "bug").kind

        return fn

    async def main():
        return await asyncio.gather(*(group.run(click(i)) for i in ids))

    commits.clear()
    assert asyncio.run(main()) == ["recorded"] * 5
    assert len(commits) == 3 and group.groups == 2  # 2 + 2 + a lone one
