"""Dawid–Skene: against a loop-based reference EM, crowd-kit, planted accuracies."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.quality import DawidSkene

from .conftest import dawid_skene_1979_frame
from .support import current, label_frames

DATA = Path(__file__).parent / "data"


# --------------------------------------------------------------------------- reference


def reference_em(df: pd.DataFrame, n_iter: int, alpha: float, eps: float) -> dict[str, object]:
    """Dawid–Skene EM written as plainly as possible: dicts and loops, no vectorisation.

    Same choices as the implementation under test: soft majority vote as the first
    posterior, M-step θ_u[k, l] ∝ max(Σ T_ik, eps) + alpha over labels u used (alpha alone
    over labels u never used; a zero row becomes uniform over the used labels), priors the
    mean posterior, ``n_iter`` (M-step, E-step) rounds, objective = log-likelihood +
    alpha · Σ log θ.
    """
    cur = current(df)
    items = list(dict.fromkeys(cur.item_id))
    users = sorted(set(cur.user_id))
    labels = sorted(set(cur.label))
    obs: dict[object, list[tuple[str, str]]] = {i: [] for i in items}
    used: dict[str, set[str]] = {u: set() for u in users}
    for row in cur.itertuples():
        obs[row.item_id].append((row.user_id, row.label))
        used[row.user_id].add(row.label)

    post = {i: {k: sum(lab == k for _, lab in obs[i]) / len(obs[i]) for k in labels} for i in items}
    history = []
    for _ in range(n_iter):
        prior = {k: sum(post[i][k] for i in items) / len(items) for k in labels}
        theta: dict[str, dict[str, dict[str, float]]] = {}
        for u in users:
            theta[u] = {}
            for k in labels:
                counts = {lab: 0.0 for lab in labels}
                for i in items:
                    for user, lab in obs[i]:
                        if user == u:
                            counts[lab] += post[i][k]
                cells = {lab: (max(counts[lab], eps) if lab in used[u] else 0.0) + alpha for lab in labels}
                total = sum(cells.values())
                if total > 0:
                    theta[u][k] = {lab: c / total for lab, c in cells.items()}
                else:
                    theta[u][k] = {lab: (1 / len(used[u]) if lab in used[u] else 0.0) for lab in labels}

        def log(x: float) -> float:
            return math.log(x) if x > 0 else -math.inf

        ll = 0.0
        for i in items:
            scores = {k: log(prior[k]) + sum(log(theta[u][k][lab]) for u, lab in obs[i]) for k in labels}
            top = max(scores.values())
            weights = {k: math.exp(s - top) for k, s in scores.items()}
            z = sum(weights.values())
            post[i] = {k: w / z for k, w in weights.items()}
            ll += top + math.log(z)
        penalty = (
            alpha * sum(log(p) for u in users for k in labels for p in theta[u][k].values()) if alpha else 0
        )
        history.append(ll + penalty)
    return {"post": post, "prior": prior, "theta": theta, "history": history, "ll": ll, "labels": labels}


def assert_matches_reference(model: DawidSkene, ref: dict[str, object], tol: float) -> None:
    post = ref["post"]
    assert isinstance(post, dict)
    probas = model.probas_
    assert list(probas.columns) == ref["labels"]
    expected = np.array([[post[i][k] for k in probas.columns] for i in probas.index])
    np.testing.assert_allclose(probas.to_numpy(), expected, atol=tol, rtol=0)
    prior = ref["prior"]
    assert isinstance(prior, dict)
    np.testing.assert_allclose(
        model.priors_.to_numpy(), [prior[k] for k in model.priors_.index], atol=tol, rtol=0
    )
    theta = ref["theta"]
    assert isinstance(theta, dict)
    for (user, true), row in model.errors_.iterrows():
        np.testing.assert_allclose(
            row.to_numpy(), [theta[user][true][k] for k in row.index], atol=tol, rtol=0
        )
    np.testing.assert_allclose(model.loss_history_, ref["history"], rtol=1e-10, atol=1e-9)
    assert model.log_likelihood_ == pytest.approx(ref["ll"], rel=1e-10, abs=1e-9)
    # Argmax agrees wherever the reference posterior is not a (near) tie.
    for item, label in model.labels_.items():
        ranked = sorted(post[item].values(), reverse=True)
        if len(ranked) == 1 or ranked[0] - ranked[1] > 1e-6:
            assert post[item][label] == ranked[0]


def planted(
    n_items: int, accuracies: list[float], n_labels: int, per_item: int, seed: int
) -> tuple[pd.DataFrame, pd.Series]:
    """Items with a true label; annotators right with their accuracy, else a uniform wrong label."""
    rng = np.random.default_rng(seed)
    n_users = len(accuracies)
    truth = rng.integers(0, n_labels, n_items)
    users = np.argsort(rng.random((n_items, n_users)), axis=1)[:, :per_item]
    item = np.repeat(np.arange(n_items), per_item)
    user = users.ravel()
    right = rng.random(len(item)) < np.asarray(accuracies)[user]
    wrong = (truth[item] + rng.integers(1, n_labels, len(item))) % n_labels
    label = np.where(right, truth[item], wrong)
    df = pd.DataFrame(
        {"item_id": item, "user_id": [f"u{u}" for u in user], "label": [f"c{x}" for x in label]}
    )
    return df, pd.Series([f"c{x}" for x in truth], index=pd.RangeIndex(n_items, name="item_id"))


# --------------------------------------------------------------------------- reference EM


@settings(max_examples=30, deadline=None)
@given(
    label_frames(max_items=15, max_users=5, max_labels=4),
    st.integers(1, 12),
    st.sampled_from([(0.2, 1e-10), (0.0, 1e-10), (1.0, 0.0), (0.0, 0.0)]),
)
def test_each_iteration_matches_reference(
    df: pd.DataFrame, n_iter: int, smoothing: tuple[float, float]
) -> None:
    alpha, eps = smoothing
    cur = current(df)
    if cur.empty:
        return
    model = DawidSkene(max_iter=n_iter, tol=0.0, alpha=alpha, eps=eps).fit(df)
    if cur.groupby("item_id").size().max() < 2:  # documented: no EM without overlap
        assert model.n_iter_ == 0 and model.converged_
        assert model.labels_.to_dict() == dict(zip(cur.item_id, cur.label, strict=True))
        return
    ref = reference_em(df, model.n_iter_, alpha, eps)
    assert model.n_iter_ <= n_iter
    assert_matches_reference(model, ref, tol=1e-9)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("alpha", [0.2, 0.0])
def test_converged_result_matches_reference_run_to_convergence(seed: int, alpha: float) -> None:
    df, _ = planted(60, [0.9, 0.75, 0.6, 0.85, 0.5], n_labels=3, per_item=3, seed=seed)
    model = DawidSkene(alpha=alpha, tol=1e-13, max_iter=50_000).fit(df)
    assert model.converged_
    ref = reference_em(df, model.n_iter_ + 200, alpha, 1e-10)
    assert_matches_reference_converged(model, ref)


def assert_matches_reference_converged(model: DawidSkene, ref: dict[str, object]) -> None:
    post = ref["post"]
    assert isinstance(post, dict)
    expected = np.array([[post[i][k] for k in model.probas_.columns] for i in model.probas_.index])
    np.testing.assert_allclose(model.probas_.to_numpy(), expected, atol=1e-9, rtol=0)
    assert model.log_likelihood_ == pytest.approx(ref["ll"], rel=1e-12)


def test_dawid_skene_1979_patients(dawid_skene_1979: pd.DataFrame) -> None:
    model = DawidSkene().fit(dawid_skene_1979)
    assert model.converged_ and model.n_iter_ < 1000
    ref = reference_em(dawid_skene_1979, model.n_iter_, 0.2, 1e-10)
    assert_matches_reference(model, ref, tol=1e-9)
    unanimous = dawid_skene_1979.groupby("item_id").label.agg(lambda s: s.nunique() == 1)
    votes = dawid_skene_1979.groupby("item_id").label.first()
    for item in unanimous[unanimous].index:
        assert model.labels_[item] == votes[item]
        assert model.probas_.loc[item, votes[item]] > 0.99
    assert model.priors_.sum() == pytest.approx(1.0)
    # Priors are the mean posterior, so they track the share of estimated classes.
    shares = model.labels_.value_counts(normalize=True).reindex(model.priors_.index, fill_value=0.0)
    assert model.priors_.to_numpy() == pytest.approx(shares.to_numpy(), abs=0.05)


# --------------------------------------------------------------------------- crowd-kit


def test_matches_frozen_crowdkit_values_on_dawid_skene_1979() -> None:
    """Values produced once with crowd-kit 1.4.2 (see the JSON's ``generated_by``).

    crowd-kit is not a dependency (it pulls in transformers); with ``alpha=0`` our EM step
    is crowd-kit's, so after 5 iterations and at convergence the posteriors agree up to
    crowd-kit's in-place 1e-10 floor on its returned posteriors.
    """
    frozen = json.loads((DATA / "crowdkit_dawid_skene_1979.json").read_text())
    df = dawid_skene_1979_frame()
    for key, model in [
        ("n_iter_5", DawidSkene(alpha=0.0, tol=0.0, max_iter=5).fit(df)),
        ("n_iter_2000", DawidSkene(alpha=0.0, tol=1e-14, max_iter=100_000).fit(df)),
    ]:
        probas = frozen[key]["probas"]
        for item, row in model.probas_.iterrows():
            for label, value in row.items():
                assert value == pytest.approx(probas[item][label], abs=2e-10), (key, item, label)
    # crowd-kit's priors_/errors_ come from one more M-step than its probas_; at the fixed
    # point that makes no difference.
    for label, value in model.priors_.items():
        assert value == pytest.approx(frozen["n_iter_2000"]["priors"][label], abs=1e-9)
    errors = frozen["n_iter_2000"]["errors"]
    for (user, true), row in model.errors_.iterrows():
        for observed, value in row.items():
            assert value == pytest.approx(errors[user][true].get(observed, 0.0), abs=1e-9)


@pytest.mark.crowdkit
@pytest.mark.skipif(importlib.util.find_spec("crowdkit") is None, reason="crowd-kit is not installed")
@pytest.mark.parametrize("seed", [0, 2])  # seeds whose EM converges in a few hundred steps
def test_matches_crowdkit(seed: int) -> None:
    from crowdkit.aggregation import DawidSkene as CrowdKitDawidSkene

    df, _ = planted(150, [0.9, 0.75, 0.8, 0.85, 0.95], n_labels=3, per_item=3, seed=seed)
    tasks = df.rename(columns={"item_id": "task", "user_id": "worker"})
    for n_iter in (1, 3, 10):  # probas_ only: crowd-kit's other results are one M-step further
        ours = DawidSkene(alpha=0.0, tol=0.0, max_iter=n_iter).fit(df)
        theirs = CrowdKitDawidSkene(n_iter=n_iter, tol=-np.inf).fit(tasks)
        got = theirs.probas_.reindex(index=ours.probas_.index, columns=ours.probas_.columns)
        np.testing.assert_allclose(ours.probas_.to_numpy(), got.to_numpy(), atol=2e-10, rtol=0)
    ours = DawidSkene(alpha=0.0, tol=1e-14, max_iter=100_000).fit(df)
    theirs = CrowdKitDawidSkene(n_iter=ours.n_iter_ + 300, tol=-np.inf).fit(tasks)
    got = theirs.probas_.reindex(index=ours.probas_.index, columns=ours.probas_.columns)
    np.testing.assert_allclose(ours.probas_.to_numpy(), got.to_numpy(), atol=1e-9, rtol=0)
    np.testing.assert_allclose(
        ours.priors_.to_numpy(), theirs.priors_.reindex(ours.priors_.index).to_numpy(), atol=1e-9, rtol=0
    )
    theirs_errors = theirs.errors_.stack()  # (worker, observed, true)
    for (user, true), row in ours.errors_.iterrows():
        for observed, value in row.items():
            assert value == pytest.approx(theirs_errors.get((user, observed, true), 0.0), abs=1e-9)
    assert (ours.labels_ == theirs.labels_.reindex(ours.labels_.index)).all()


# --------------------------------------------------------------------------- behaviour


@settings(max_examples=40, deadline=None)
@given(label_frames(max_items=30, max_users=6, max_labels=4), st.sampled_from([0.2, 0.0]))
def test_objective_is_monotone(df: pd.DataFrame, alpha: float) -> None:
    model = DawidSkene(alpha=alpha, max_iter=3000).fit(df)
    history = np.asarray(model.loss_history_)
    if len(history) > 1:
        assert np.all(np.diff(history) >= -1e-12 * np.maximum(1.0, np.abs(history[1:])))


def test_objective_is_monotone_and_converges_on_realistic_data() -> None:
    df, _ = planted(3000, list(np.linspace(0.45, 0.95, 12)), n_labels=4, per_item=3, seed=11)
    model = DawidSkene().fit(df)
    history = np.asarray(model.loss_history_)
    assert model.converged_
    assert np.all(np.diff(history) >= -1e-12 * np.abs(history[1:]))
    # Converged for real: more iterations move nothing.
    longer = DawidSkene(tol=0.0, max_iter=model.n_iter_ + 200).fit(df)
    np.testing.assert_allclose(longer.probas_.to_numpy(), model.probas_.to_numpy(), atol=1e-8, rtol=0)


def test_recovers_planted_annotator_accuracies() -> None:
    accuracies = [0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.55, 0.5]
    df, truth = planted(4000, accuracies, n_labels=3, per_item=5, seed=3)
    model = DawidSkene().fit(df)
    assert model.converged_
    estimated = model.annotator_accuracy_.reindex([f"u{i}" for i in range(len(accuracies))])
    np.testing.assert_allclose(estimated.to_numpy(), accuracies, atol=0.03)
    ds_accuracy = (model.labels_.sort_index().to_numpy() == truth.to_numpy()).mean()
    votes = df.groupby(["item_id", "label"]).size().unstack(fill_value=0)
    mv_accuracy = (votes.idxmax(axis=1).sort_index().to_numpy() == truth.to_numpy()).mean()
    assert ds_accuracy > mv_accuracy
    assert model.priors_.to_numpy() == pytest.approx([1 / 3] * 3, abs=0.03)


def test_annotator_accuracy_definition() -> None:
    df, _ = planted(200, [0.9, 0.7, 0.6], n_labels=3, per_item=3, seed=5)
    model = DawidSkene().fit(df)
    for user, value in model.annotator_accuracy_.items():
        diagonal = [model.errors_.loc[(user, k), k] for k in model.priors_.index]
        assert value == pytest.approx(float(np.dot(diagonal, model.priors_.to_numpy())), abs=1e-12)
    assert model.errors_.sum(axis=1).to_numpy() == pytest.approx(1.0)
    assert model.probas_.sum(axis=1).to_numpy() == pytest.approx(1.0)
    assert list(model.errors_.index.names) == ["user_id", "true_label"]


def test_fit_predict_and_relabels() -> None:
    df, _ = planted(100, [0.9, 0.8, 0.7], n_labels=2, per_item=3, seed=2)
    stale = df.assign(label="c0").iloc[:20]  # earlier answers, superseded by df's rows
    model = DawidSkene()
    labels = model.fit_predict(pd.concat([stale, df]))
    pd.testing.assert_series_equal(labels, DawidSkene().fit_predict(df))
    pd.testing.assert_frame_equal(model.fit_predict_proba(df), DawidSkene().fit(df).probas_)


def test_ties_go_to_the_label_that_sorts_first() -> None:
    # Two annotators, one item each way: perfectly symmetric, every posterior is 1/2.
    df = pd.DataFrame({"item_id": [1, 1], "user_id": ["a", "b"], "label": ["zebra", "ant"]})
    model = DawidSkene().fit(df)
    assert model.probas_.loc[1].to_numpy() == pytest.approx([0.5, 0.5])
    assert model.labels_[1] == "ant"


def test_degenerate_inputs() -> None:
    empty = pd.DataFrame({"item_id": [], "user_id": [], "label": []})
    model = DawidSkene().fit(empty)
    assert model.labels_.empty and model.probas_.empty and model.errors_.empty
    assert model.n_iter_ == 0 and model.converged_ and model.loss_history_ == []

    one_label = pd.DataFrame({"item_id": [1, 1, 2], "user_id": ["a", "b", "a"], "label": ["x", "x", "x"]})
    model = DawidSkene().fit(one_label)
    assert model.converged_
    assert model.labels_.tolist() == ["x", "x"]
    assert model.probas_.to_numpy() == pytest.approx(np.ones((2, 1)))
    assert model.annotator_accuracy_.to_numpy() == pytest.approx([1.0, 1.0])

    one_annotator = pd.DataFrame({"item_id": [1, 2, 3], "user_id": ["a"] * 3, "label": ["x", "y", "x"]})
    model = DawidSkene().fit(one_annotator)
    assert model.converged_ and model.n_iter_ == 0 and model.loss_history_ == []
    assert model.labels_.tolist() == ["x", "y", "x"]
    assert model.priors_.to_numpy() == pytest.approx([2 / 3, 1 / 3])
    assert model.errors_.to_numpy() == pytest.approx(np.eye(2))
    assert model.annotator_accuracy_["a"] == pytest.approx(1.0)

    with pytest.raises(ValueError):
        DawidSkene(max_iter=0)
    with pytest.raises(ValueError):
        DawidSkene(alpha=-1.0)
    with pytest.raises(ValueError):
        DawidSkene(ll_tol=-1.0)


def test_ll_tol_stops_earlier_but_not_at_the_fixed_point() -> None:
    df, _ = planted(2000, list(np.linspace(0.4, 0.95, 10)), n_labels=4, per_item=3, seed=4)
    strict = DawidSkene(alpha=0.0).fit(df)
    loose = DawidSkene(alpha=0.0, ll_tol=1e-6).fit(df)
    assert loose.converged_ and loose.n_iter_ < strict.n_iter_
    assert np.abs(loose.probas_.to_numpy() - strict.probas_.to_numpy()).max() > 1e-8
