"""Group commit: one transaction for the clicks of one pass of the event loop, acks after it."""

from __future__ import annotations

import asyncio
import threading

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


@pytest.mark.parametrize("threads", [0, 2], ids=["on-the-loop", "in-threads"])
def test_clicks_of_one_pass_share_one_commit_and_resolve_after_it(factory, project, commits, threads):
    (item_id,) = add_items(factory, 1)
    group = GroupCommit(factory, threads=threads)
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
    group.close()
    assert [r.kind for r in results] == ["recorded"] * 3
    # Each click saw the ones before it: the third closed the item with all three votes.
    assert [r.card.n_labels for r in results] == [1, 2, 3] and results[2].card.status == "resolved"
    assert len(commits) == 1 and group.groups == 1
    assert seen_before_commit == [0, 0, 0]  # nothing was visible, let alone acknowledged, before the commit
    assert after_commit == [3, 3, 3]  # what ran after the acks ran after the commit


@pytest.mark.parametrize("threads", [0, 2], ids=["on-the-loop", "in-threads"])
def test_a_failing_click_rolls_the_group_back_and_each_runs_alone(factory, project, commits, threads):
    ids = add_items(factory, 2)
    group = GroupCommit(factory, threads=threads)
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
    group.close()
    assert first == third == "recorded" and isinstance(second, RuntimeError)
    assert attempts == ["U1", "U2", "U1", "U2", "U3"]  # the group stopped at the failure, then each alone
    assert answered == ["U1", "U3"]  # the rolled-back attempt's answers were dropped, not sent
    with read_scope(factory) as session:
        rows = session.execute(select(Label.item_id, Label.user_id).order_by(Label.id)).all()
        history = session.scalars(select(ItemEvent.actor).where(ItemEvent.action == "label")).all()
    assert [tuple(r) for r in rows] == [(ids[0], "U1"), (ids[1], "U3")]
    assert sorted(history) == ["U1", "U3"]  # recorded once each, nothing of the failed click
    assert group.groups == 0


@pytest.mark.parametrize("threads", [0, 2], ids=["on-the-loop", "in-threads"])
def test_a_failed_commit_fails_every_click_of_the_group(factory, project, engine, threads):
    ids = add_items(factory, 2)
    group = GroupCommit(factory, threads=threads)

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
    group.close()
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


def test_in_threads_each_ack_follows_its_commit_and_answers_run_on_the_loop(factory, project, commits):
    ids = add_items(factory, 3)
    group = GroupCommit(factory, threads=2)
    ran_in: list[str] = []
    answered_in: list[str] = []
    stored_at_ack: list[int] = []

    def click(user: str, item_id: int):
        def fn():
            ran_in.append(threading.current_thread().name)
            with group.session() as session:
                result = record_label(session, allow(project, user), ItemRef(item_id, 1), "bug")
            assert group.defer(lambda: answered_in.append(threading.current_thread().name))
            return result.kind

        return fn

    async def one(user: str, item_id: int):
        kind = await group.run(click(user, item_id), order=item_id)
        stored_at_ack.append(labels_seen_elsewhere(factory, item_id))  # what a reader sees at the ack
        return kind

    async def main():
        return await asyncio.gather(*(one(f"U{n}", i) for n, i in enumerate(ids)))

    assert asyncio.run(main()) == ["recorded"] * 3
    group.close()
    assert stored_at_ack == [1, 1, 1]
    assert all(name.startswith("group-commit") for name in ran_in)  # off the event loop
    assert answered_in == [threading.main_thread().name] * 3  # answers back on the loop, after the commit


def test_a_group_runs_its_clicks_in_item_order(factory, project):
    """Groups committed at once lock their items in one order, so they cannot deadlock; one user's
    clicks on one item keep the order they came in."""
    ids = add_items(factory, 3)
    group = GroupCommit(factory, threads=1)
    ran: list[tuple[int, str]] = []

    def click(item_id: int, value: str):
        def fn():
            ran.append((item_id, value))
            with group.session() as session:
                return record_label(session, allow(project, "U1"), ItemRef(item_id, 1), value).kind

        return fn

    async def main():
        clicks = [(ids[2], "bug"), (ids[0], "bug"), (ids[2], "other"), (ids[1], "bug")]
        return await asyncio.gather(*(group.run(click(i, v), order=i) for i, v in clicks))

    assert asyncio.run(main()) == ["recorded", "recorded", "changed", "recorded"]
    group.close()
    assert ran == [(ids[0], "bug"), (ids[1], "bug"), (ids[2], "bug"), (ids[2], "other")]
    assert group.groups == 1


def test_in_threads_groups_run_side_by_side_up_to_the_thread_count(factory, project, commits, engine):
    if engine.dialect.name == "sqlite":
        pytest.skip(
            "SQLite's transactions take turns (storage.db's process lock); its groups run on the loop"
        )
    ids = add_items(factory, 5)
    group = GroupCommit(factory, max_size=2, threads=2)
    inside = 0
    most = 0
    both_in = threading.Barrier(2, timeout=10)
    lock = threading.Lock()

    def click(item_id: int, first: bool):
        def fn():
            nonlocal inside, most
            with lock:
                inside += 1
                most = max(most, inside)
            if first:
                both_in.wait()  # the first two groups' first clicks: both threads at once
            with group.session() as session:
                kind = record_label(session, allow(project, "U1"), ItemRef(item_id, 1), "bug").kind
            with lock:
                inside -= 1
            return kind

        return fn

    async def main():
        firsts = {ids[0], ids[2]}
        return await asyncio.gather(*(group.run(click(i, i in firsts), order=i) for i in ids))

    commits.clear()
    assert asyncio.run(main()) == ["recorded"] * 5
    group.close()
    assert most == 2 and len(commits) == 3 and group.groups == 2  # 2 + 2 at once, then a lone one
