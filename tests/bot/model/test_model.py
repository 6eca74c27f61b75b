"""Training, scoring and the rules that use the model, on a real database."""

from __future__ import annotations

from datetime import datetime

import pytest
from sklearn.pipeline import FeatureUnion
from sqlalchemy import event, select

from bot.importer import ItemRow, upsert_items
from bot.items import get_project
from bot.labeling import record_label
from bot.model import scoring
from bot.model.launcher import retrain_due
from bot.model.scoring import score_items
from bot.model.training import latest_model, train_project, training_data
from bot.refs import ItemRef
from storage import bulk
from storage.db import read_scope, session_scope
from storage.models import Item, ItemStatus, ModelVersion, Resolution
from tests.bot.conftest import allow, make_config

WORDS = {
    "billing": "invoice refund charge payment card",
    "bug": "crash error broken freeze screen",
    "other": "hello thanks question weather lunch",
}


@pytest.fixture
def factory(committing_factory):
    """A database of the test's own: scoring stores from a writer thread, in transactions of its own."""
    return committing_factory


def texts(label, n, offset=0):
    words = WORDS[label].split()
    return [" ".join(words[(i + j) % len(words)] for j in range(6)) + f" n{i + offset}" for i in range(n)]


@pytest.fixture
def models(tmp_path, monkeypatch):
    monkeypatch.setenv("LABELBOT_MODELS_DIR", str(tmp_path / "models"))


def seed(factory, config, labeled=30, unlabeled=30):
    with session_scope(factory) as session:
        project = get_project(session, "support")
        rows = [
            ItemRow(f"l-{lab}-{i}", t, {}, None)
            for lab in WORDS
            for i, t in enumerate(texts(lab, labeled // 3))
        ]
        rows += [
            ItemRow(f"u-{lab}-{i}", t, {}, None)
            for lab in WORDS
            for i, t in enumerate(texts(lab, unlabeled // 3, 1000))
        ]
        upsert_items(session, project, rows)
        for item in session.scalars(select(Item).where(Item.external_id.like("l-%"))):
            item.status, item.resolution = ItemStatus.RESOLVED, Resolution.CONSENSUS
            item.final_label = item.external_id.split("-")[1]
        return project.id


def test_train_score_and_order(factory, models):
    config = make_config(model={"min_labels": 10})
    project = config.projects[0]
    pid = seed(factory, config)
    with session_scope(factory) as session:
        assert retrain_due(session, project, pid)
        assert len(training_data(session, pid)[0]) == 30
    outcome = train_project(factory, project, pid)
    assert outcome.status == "trained" and outcome.version == 1 and outcome.cv_macro_f1 > 0.8
    with read_scope(factory) as session:
        version, model = latest_model(session, project, pid)
        assert not retrain_due(session, project, pid)
    report = score_items(factory, project, pid, version, model, seed=0)
    assert report.scored == 30 and report.auto_accepted == 0
    with session_scope(factory) as session:
        items = session.scalars(select(Item).where(Item.external_id.like("u-%"))).all()
        correct = sum(i.model_label == i.external_id.split("-")[1] for i in items)
        assert correct >= 25
        assert all(i.model_version == 1 and 0 <= i.priority <= 1 for i in items)


@pytest.mark.parametrize(("setting", "char"), [("auto", True), (False, False)])
def test_a_small_project_gets_character_ngrams_unless_it_turned_them_off(factory, models, setting, char):
    config = make_config(model={"min_labels": 10, "char_ngrams": setting})
    project = config.projects[0]
    pid = seed(factory, config)
    assert train_project(factory, project, pid).status == "trained"
    with read_scope(factory) as session:
        _, model = latest_model(session, project, pid)
    features = model.named_steps["tfidf"]
    assert isinstance(features, FeatureUnion) is char
    assert model.predict(["refund my payment"])[0] == "billing"


def test_training_and_scoring_report_progress(factory, models):
    """``labelbot model --train/--score`` draws its bars from these calls (the domain knows no bar)."""
    config = make_config(model={"min_labels": 10})
    project = config.projects[0]
    pid = seed(factory, config)
    fits: list[tuple[int, int]] = []
    outcome = train_project(factory, project, pid, on_progress=lambda done, total: fits.append((done, total)))
    assert outcome.status == "trained"
    assert fits[0][0] == 0 and fits[-1][0] == fits[-1][1] > 1  # the folds, then the final fit
    assert [done for done, _ in fits] == sorted(done for done, _ in fits)
    with read_scope(factory) as session:
        version, model = latest_model(session, project, pid)
    scored: list[tuple[int, int]] = []
    score_items(
        factory, project, pid, version, model, on_progress=lambda done, total: scored.append((done, total))
    )
    assert scored[-1] == (30, 30)


def test_failed_training_is_recorded_and_harmless(factory, models):
    config = make_config()
    project = config.projects[0]
    with session_scope(factory) as session:
        pid = get_project(session, "support").id
    outcome = train_project(factory, project, pid)
    assert outcome.status == "failed" and "need at least" in outcome.error
    with session_scope(factory) as session:
        row = session.scalar(select(ModelVersion))
        assert row.status == "failed" and row.error
        assert latest_model(session, project, pid) is None


def test_rules_prelabel_before_any_model(factory, models):
    config = make_config(model={"rules": [{"label": "billing", "keywords": ["invoice"]}]})
    project = config.projects[0]
    pid = seed(factory, config, labeled=0, unlabeled=30)
    with read_scope(factory) as session:
        version, model = latest_model(session, project, pid)
    assert version == 0
    score_items(factory, project, pid, version, model)
    with session_scope(factory) as session:
        item = session.scalar(select(Item).where(Item.external_id == "u-billing-0"))
        assert item.model_label == "billing" and item.model_version == 0


def test_auto_accept_resolves_confident_items(factory, models):
    config = make_config(model={"min_labels": 10, "auto_accept": 0.5}, quality={"audit_rate": 1.0})
    project = config.projects[0]
    pid = seed(factory, config)
    train_project(factory, project, pid)
    with read_scope(factory) as session:
        version, model = latest_model(session, project, pid)
    report = score_items(factory, project, pid, version, model)
    assert report.auto_accepted > 0
    with session_scope(factory) as session:
        accepted = session.scalars(select(Item).where(Item.resolution == Resolution.MODEL)).all()
        assert len(accepted) == report.auto_accepted
        assert all(i.final_label == i.model_label for i in accepted)
        from storage.models import Audit

        assert {a.resolution for a in session.scalars(select(Audit))} == {"model"}


def test_dynamic_overlap_resolves_early_when_people_and_model_agree(factory):
    config = make_config(annotators_per_item={"min": 1, "max": 3}, model={"confident": 0.8})
    project = config.projects[0]
    with session_scope(factory) as session:
        pid = get_project(session, "support").id
        upsert_items(
            session,
            get_project(session, "support"),
            [ItemRow("a", "t", {}, None), ItemRow("b", "t", {}, None)],
        )
        for item in session.scalars(select(Item)):
            item.status, item.channel, item.message_ts = ItemStatus.OPEN, "C0LABELS", f"1.{item.id}"
            item.model_label, item.model_confidence = "bug", 0.95
    del pid
    with session_scope(factory) as session:
        result = record_label(session, allow(project, "U1"), ItemRef(1, 1), "bug")
    assert result.card.status == "resolved"  # one label + a confident agreeing model
    with session_scope(factory) as session:
        first = record_label(session, allow(project, "U1"), ItemRef(2, 1), "billing")
    assert first.card.status == "open" and first.card.needed == 2  # disagrees with the model: ask more
    with session_scope(factory) as session:
        second = record_label(session, allow(project, "U2"), ItemRef(2, 1), "billing")
    assert second.card.status == "resolved"  # two people agree: 2 of max 3 already decides


def test_scores_are_stored_in_short_transactions(factory, engine, monkeypatch):
    """A click waits for one batch of score writes at most, never for the whole project; the
    driver-level write stores what SQLAlchemy reads back as the same values and types."""
    monkeypatch.setattr(bulk, "SCORE_BATCH", 4)
    monkeypatch.setattr(bulk, "SCORE_BATCH_PG", 4)  # PostgreSQL's COPY + UPDATE ... FROM path
    config = make_config()
    pid = seed(factory, config, labeled=0, unlabeled=30)
    with read_scope(factory) as session:
        ids = sorted(session.scalars(select(Item.id).where(Item.project_id == pid)))
        before = {row[0]: row[1] for row in session.execute(select(Item.id, Item.updated_at))}
    labels = [["billing", "bug", "other"][k % 3] for k in range(len(ids))]
    confidence = [0.5 + k / 100 for k in range(len(ids))]
    priority = [1 - k / 64 for k in range(len(ids))]
    commits: list[object] = []

    def committed(conn: object) -> None:
        commits.append(conn)

    event.listen(engine, "commit", committed)
    try:
        bulk.store_scores(factory, ids, labels, confidence, priority, 7)
    finally:
        event.remove(engine, "commit", committed)
    assert len(commits) == 8  # 30 rows, at most 4 per transaction
    with read_scope(factory) as session:
        items = {i.id: i for i in session.scalars(select(Item))}
        for k, item_id in enumerate(ids):
            item = items[item_id]
            assert (item.model_label, item.model_confidence, item.priority, item.model_version) == (
                labels[k],
                confidence[k],
                priority[k],
                7,
            )
            assert isinstance(item.updated_at, datetime) and item.updated_at >= before[item_id]
    # Again for the first ten only: the others keep their scores (nothing left over from a batch).
    bulk.store_scores(factory, ids[:10], ["bug"] * 10, [0.9] * 10, [0.25] * 10, 8)
    after = _scored(factory)
    assert all(after[i] == ("bug", 0.9, 0.25, 8) for i in ids[:10])
    assert all(after[i] == (labels[k], confidence[k], priority[k], 7) for k, i in enumerate(ids) if k >= 10)


def _scored(factory):
    with read_scope(factory) as session:
        return {
            i.id: (i.model_label, i.model_confidence, i.priority, i.model_version)
            for i in session.scalars(select(Item).order_by(Item.id))
        }


def _unscored_items(factory, config):
    pid = seed(factory, config, labeled=0, unlabeled=30)
    with read_scope(factory) as session:
        rows = session.execute(
            select(Item.id, Item.text).where(Item.project_id == pid).order_by(Item.id)
        ).all()
    return [r[0] for r in rows], [r[1] for r in rows]


class Keywords:
    """A tiny probabilistic model: which label's words a text has most of; can fail on demand."""

    classes_ = sorted(WORDS)

    def __init__(self, fail_on_call: int | None = None) -> None:
        self.calls = 0
        self.fail_on_call = fail_on_call

    def predict_proba(self, texts):
        import numpy as np

        self.calls += 1
        if self.calls == self.fail_on_call:
            raise RuntimeError("model broke")
        hits = np.array(
            [[sum(w in t.split() for w in WORDS[c].split()) + 1 for c in self.classes_] for t in texts]
        )
        return hits / hits.sum(axis=1, keepdims=True)


def test_scoring_in_chunks_stores_what_one_pass_would(factory):

    config = make_config()
    ids, texts_ = _unscored_items(factory, config)
    scoring.score_and_store(factory, Keywords(), ids, texts_, "random", 3, seed=5, chunk=7)
    chunked = _scored(factory)
    scoring.score_and_store(factory, Keywords(), ids, texts_, "random", 3, seed=5, chunk=len(ids))
    assert _scored(factory) == chunked  # the same labels, confidences and (random) priorities
    assert {v[3] for v in chunked.values()} == {3}
    assert {v[0] for v in chunked.values()} == set(WORDS)


def test_a_failure_on_either_side_stops_scoring_and_is_raised(factory, monkeypatch):
    import threading

    config = make_config()
    ids, texts_ = _unscored_items(factory, config)
    with pytest.raises(RuntimeError, match="model broke"):
        scoring.score_and_store(factory, Keywords(fail_on_call=2), ids, texts_, "uncertainty", 4, chunk=10)
    stored = [k for k, v in _scored(factory).items() if v[3] == 4]
    assert stored == ids[:10]  # the chunk scored before the failure was stored, nothing after it

    real_store = bulk.store_scores
    calls: list[int] = []

    def failing_store(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        real_store(*args, **kwargs)

    monkeypatch.setattr(bulk, "store_scores", failing_store)
    model = Keywords()
    with pytest.raises(OSError, match="disk full"):
        scoring.score_and_store(factory, model, ids, texts_, "uncertainty", 5, chunk=5)
    assert model.calls < 6  # scoring stopped once the writer failed
    assert len(calls) == 2
    assert not [t for t in threading.enumerate() if t.name == "labelbot-score-writer"]


def _ranking(factory, pid):
    """(dispatch_run, {run: [item ids in rank order]}) of a project."""
    from storage.models import DispatchRank, Project

    with read_scope(factory) as session:
        current = session.scalar(select(Project.dispatch_run).where(Project.id == pid))
        runs: dict[int, list[int]] = {}
        for run, item_id in session.execute(
            select(DispatchRank.run, DispatchRank.item_id)
            .where(DispatchRank.project_id == pid)
            .order_by(DispatchRank.run, DispatchRank.rank)
        ):
            runs.setdefault(run, []).append(item_id)
    return current, runs


def test_a_ranking_replaces_the_previous_one_in_priority_then_import_order(factory, monkeypatch):
    monkeypatch.setattr(bulk, "RANK_BATCH", 4)  # several batches, appended and deleted
    config = make_config()
    pid = seed(factory, config, labeled=0, unlabeled=30)
    with read_scope(factory) as session:
        ids, seqs = map(
            list,
            zip(
                *session.execute(
                    select(Item.id, Item.import_seq).where(Item.project_id == pid).order_by(Item.id)
                ).all(),
                strict=True,
            ),
        )
    assert _ranking(factory, pid) == (None, {})
    priority = [(k * 7) % 5 / 4 for k in range(len(ids))]  # many ties: import order decides them
    expected = [i for _, _, i in sorted(zip([-p for p in priority], seqs, ids, strict=True))]
    assert scoring.store_ranks(factory, pid, ids, seqs, priority) == 1
    assert _ranking(factory, pid) == (1, {1: expected})
    reversed_priority = [1 - p for p in priority]
    expected = [i for _, _, i in sorted(zip([-p for p in reversed_priority], seqs, ids, strict=True))]
    assert scoring.store_ranks(factory, pid, ids, seqs, reversed_priority) == 2
    assert _ranking(factory, pid) == (2, {2: expected})  # run 1 deleted behind


def test_an_interrupted_or_overtaken_ranking_leaves_dispatch_on_the_complete_one(factory, monkeypatch):
    from storage.models import Project

    monkeypatch.setattr(bulk, "RANK_BATCH", 5)
    config = make_config()
    pid = seed(factory, config, labeled=0, unlabeled=30)
    ids = list(range(1, 31))
    seqs = list(range(1, 31))
    scoring.store_ranks(factory, pid, ids, seqs, [k / 30 for k in ids])  # run 1: 30 first
    real_insert = bulk._insert_batches

    def failing_insert(factory_, table, columns, rows, batch):
        real_insert(factory_, table, columns, rows[:10], batch)  # two batches in, then the process dies
        raise OSError("disk full")

    monkeypatch.setattr(bulk, "_insert_batches", failing_insert)
    with pytest.raises(OSError, match="disk full"):
        scoring.store_ranks(factory, pid, ids, seqs, [1 - k / 30 for k in ids])
    current, runs = _ranking(factory, pid)
    assert current == 1 and runs[1] == ids[::-1] and len(runs[2]) == 10  # run 2 half written, not followed
    monkeypatch.setattr(bulk, "_insert_batches", real_insert)
    scoring.store_ranks(factory, pid, ids, seqs, [1 - k / 30 for k in ids])
    assert _ranking(factory, pid) == (3, {3: ids})  # the complete run 3 deleted runs 1 and 2

    # A slower ranking that started before run 3 finishes after it: it must not take over.
    with session_scope(factory) as session:
        session.get(Project, pid).score_runs = 1  # as if this run had been numbered before run 3
    assert scoring.store_ranks(factory, pid, ids[:3], seqs[:3], [0.5, 0.5, 0.5]) == 2
    assert _ranking(factory, pid) == (3, {3: ids})  # overtaken: it deleted its own rows


def test_score_items_ranks_for_dispatch_and_leaves_auto_accepted_items_out(factory, models):
    config = make_config(model={"min_labels": 10, "auto_accept": 0.6})
    project = config.projects[0]
    pid = seed(factory, config)
    with session_scope(factory) as session:  # texts with every label's words: the model hesitates
        upsert_items(
            session,
            get_project(session, "support"),
            [ItemRow(f"mixed-{i}", f"invoice crash hello n{i}", {}, None) for i in range(5)],
        )
    train_project(factory, project, pid)
    with read_scope(factory) as session:
        version, model = latest_model(session, project, pid)
    report = score_items(factory, project, pid, version, model)
    assert 0 < report.auto_accepted < report.scored
    current, runs = _ranking(factory, pid)
    with read_scope(factory) as session:
        items = {
            i.id: (i.status, -i.priority, i.import_seq)
            for i in session.scalars(select(Item).where(Item.project_id == pid))
        }
    ranked = runs[current]
    assert set(ranked) == {i for i, (status, _, _) in items.items() if status == ItemStatus.QUEUED}
    keys = [items[i][1:] for i in ranked]
    assert keys == sorted(keys)
