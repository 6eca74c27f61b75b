"""The stored ranking follows ``model.strategy``: batch-aware strategies reorder its top."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.importer import ItemRow, upsert_items
from bot.items import get_project
from bot.learning.sampling import length_weight
from bot.model.scoring import score_items
from bot.model.training import latest_model, train_project
from storage.db import read_scope, session_scope
from storage.models import DispatchRank, Item, ItemStatus, Project, Resolution
from tests.bot.conftest import make_config

WORDS = {
    "billing": "invoice refund charge payment card",
    "bug": "crash error broken freeze screen",
    "other": "hello thanks question weather lunch",
}


@pytest.fixture
def factory(committing_factory, tmp_path, monkeypatch):
    monkeypatch.setenv("LABELBOT_MODELS_DIR", str(tmp_path / "models"))
    return committing_factory


def _texts(label: str, n: int, offset: int) -> list[str]:
    words = WORDS[label].split()
    return [" ".join(words[(i + j) % len(words)] for j in range(4)) + f" n{i + offset}" for i in range(n)]


def _seed(factory, labeled: dict[str, int], unlabeled: int) -> int:
    with session_scope(factory) as session:
        project = get_project(session, "support")
        rows = [
            ItemRow(f"l-{lab}-{i}", t, {}, None)
            for lab, n in labeled.items()
            for i, t in enumerate(_texts(lab, n, 0))
        ]
        rows += [
            ItemRow(f"u-{lab}-{i}", t, {}, None)
            for lab in WORDS
            for i, t in enumerate(_texts(lab, unlabeled, 1000))
        ]
        # Billing and bug at once: what margin uncertainty asks first.
        rows += [ItemRow(f"u-mix-{i}", f"invoice refund crash error n{2000 + i}", {}, None) for i in range(6)]
        upsert_items(session, project, rows)
        for item in session.scalars(select(Item).where(Item.external_id.like("l-%"))):
            item.status, item.resolution = ItemStatus.RESOLVED, Resolution.CONSENSUS
            item.final_label = item.external_id.split("-")[1]
        return project.id


def _ranked_external_ids(factory, pid: int) -> list[str]:
    with read_scope(factory) as session:
        run = session.scalar(select(Project.dispatch_run).where(Project.id == pid))
        return list(
            session.scalars(
                select(Item.external_id)
                .join(DispatchRank, DispatchRank.item_id == Item.id)
                .where(DispatchRank.project_id == pid, DispatchRank.run == run)
                .order_by(DispatchRank.rank)
            )
        )


def _train_and_rank(factory, strategy: str) -> tuple[list[str], dict[str, float]]:
    project = make_config(model={"min_labels": 10, "strategy": strategy, "retrain_every": 6}).projects[0]
    pid = _seed(factory, {"billing": 12, "bug": 12, "other": 2}, unlabeled=12)
    assert train_project(factory, project, pid).status == "trained"
    with read_scope(factory) as session:
        version, model = latest_model(session, project, pid)
    assert score_items(factory, project, pid, version, model, seed=0).scored == 42
    with read_scope(factory) as session:
        priority = dict(
            session.execute(select(Item.external_id, Item.priority).where(Item.project_id == pid)).all()
        )
    return _ranked_external_ids(factory, pid), priority


def test_balanced_puts_the_likeliest_items_of_a_rare_label_first(factory) -> None:
    ranked, _ = _train_and_rank(factory, "balanced")
    assert len(ranked) == 42 and len(set(ranked)) == 42
    assert all(e.startswith("u-other-") for e in ranked[:3])  # half of retrain_every: the rare label


def test_a_priority_strategy_ranks_by_its_priority(factory) -> None:
    ranked, priority = _train_and_rank(factory, "margin")
    values = [priority[e] for e in ranked]
    assert values == sorted(values, reverse=True)


def test_without_balancing_the_rare_label_is_not_first(factory) -> None:
    """What makes the balanced test meaningful: margin alone starts elsewhere."""
    ranked, _ = _train_and_rank(factory, "margin")
    assert all(e.startswith("u-mix-") for e in ranked[:3])


@pytest.mark.parametrize("strategy", ["diverse", "dense", "badge", "balanced-diverse"])
def test_batch_aware_strategies_rank_every_item_once(factory, strategy: str) -> None:
    ranked, _ = _train_and_rank(factory, strategy)
    assert len(ranked) == 42 and len(set(ranked)) == 42


@pytest.mark.parametrize("strategy", ["margin", "balanced"])
def test_stored_priority_and_ranking_are_weighted_by_text_length(factory, strategy: str) -> None:
    """model.length_power (default 0.5): uncertainty x (min(words, 500) / 500) ** 0.5. A long
    text as uncertain as the short mixed ones goes before them; with length_power 0, after them
    (equal margins: import order)."""
    pid = _seed(factory, {"billing": 12, "bug": 12, "other": 12}, unlabeled=4)
    with session_scope(factory) as session:
        long_text = " ".join(["invoice refund crash error"] * 10)  # 40 words, the mixed items' features
        upsert_items(session, get_project(session, "support"), [ItemRow("u-long", long_text, {}, None)])
    figures = {}
    for power in (0.5, 0.0):
        settings = {"min_labels": 10, "strategy": strategy, "retrain_every": 6, "length_power": power}
        project = make_config(model=settings).projects[0]
        assert train_project(factory, project, pid).status == "trained"
        with read_scope(factory) as session:
            version, model = latest_model(session, project, pid)
        score_items(factory, project, pid, version, model, seed=0)
        with read_scope(factory) as session:
            rows = session.execute(
                select(Item.external_id, Item.priority, Item.text).where(Item.status == ItemStatus.QUEUED)
            ).all()
        figures[power] = (_ranked_external_ids(factory, pid), {e: (p, t) for e, p, t in rows})
    (weighted_rank, weighted), (plain_rank, plain) = figures[0.5], figures[0.0]
    assert weighted.keys() == plain.keys() and len(weighted) == 19
    for e, (p, text) in weighted.items():
        assert p == pytest.approx(plain[e][0] * length_weight([text], 0.5)[0])
    assert weighted_rank[0] == "u-long"
    assert plain_rank.index("u-long") > plain_rank.index("u-mix-5")
