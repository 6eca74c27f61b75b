"""Dawid–Skene consensus: EM estimate of true labels and per-annotator confusion matrices.

Model (Dawid & Skene 1979): item i has a hidden true label k with prior π_k; annotator u,
given true label k, answers l with probability θ_u[k, l], independently of the others.
EM alternates

* E-step: posterior T_ik ∝ π_k Π_{(u, l) on i} θ_u[k, l] (in log space, then normalised);
* M-step: π_k = mean_i T_ik and θ_u[k, l] ∝ Σ_{i labelled l by u} T_ik,

and never decreases the observed-data log-likelihood Σ_i log Σ_k π_k Π θ_u[k, l], which is
what :attr:`DawidSkene.loss_history_` records. Choices, all made to match Toloka
crowd-kit's ``DawidSkene`` step for step (so that both can be compared), except for the
stopping rule:

* Initialisation from majority vote: the first M-step uses each item's vote shares as
  its posterior (soft majority vote).
* Smoothing: in the M-step each expected count of a label the annotator actually used is
  floored at ``eps`` (1e-10, crowd-kit's value) before normalising, so a label an
  annotator used never becomes impossible under any class (a hard zero would lock items
  out of that class for good). Labels an annotator never used get probability 0; they
  never enter the likelihood. ``eps=0`` gives the plain maximum-likelihood step. Unlike
  crowd-kit, priors are not floored (they only differ when a prior drops below 1e-10).
* Stopping: crowd-kit stops when its ELBO-like loss (which is not monotone) gains less
  than 1e-5, often after a handful of iterations. Here EM runs until no parameter moves:
  the largest change of any posterior, prior or confusion entry between two iterations is
  at most ``tol`` (1e-10), or ``max_iter`` is hit. A relative log-likelihood criterion
  (gain <= ``ll_tol``·|log-likelihood|) can be added but is off by default: the
  likelihood is flat (quadratic) near the optimum, so on slowly converging data a 1e-10
  relative gain still leaves posteriors moving by ~1e-5 per iteration, and at 1e-15 the
  gain is rounding noise. The log-likelihood is non-decreasing up to that rounding
  (~1e-15 relative; the eps floor perturbs the exact M-step by no more).
* Ties in the posterior argmax go to the label that sorts first.

Everything runs on integer-coded arrays with two sparse-times-dense products per
iteration (O(labels × classes + annotators × classes²)); no Python loop over rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from bot.quality.data import ITEM_ID, LABEL, USER_ID, LabelData, as_label_data

__all__ = ["DawidSkene"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class _Problem:
    """Observations re-coded to the items, users and labels that actually occur."""

    items: pd.Index
    users: pd.Index
    labels: pd.Index
    by_item: sp.csr_array  # items × (user·K + label), one entry per observation
    by_answer: sp.csr_array  # its transpose, for the M-step
    used: npt.NDArray[np.bool_]  # users × K: labels each user used
    votes: FloatArray  # items × K vote counts


def _compact(codes: IntArray, size: int) -> tuple[IntArray, IntArray]:
    """Codes that occur (sorted, so label order is kept) and codes re-numbered onto them."""
    present = np.bincount(codes, minlength=size) > 0
    kept = np.flatnonzero(present)
    new = np.cumsum(present) - 1
    return kept.astype(np.int64), new[codes].astype(np.int64)


def _problem(d: LabelData) -> _Problem:
    item_kept, item = _compact(d.item, d.n_items)
    user_kept, user = _compact(d.user, d.n_users)
    label_kept, label = _compact(d.label, d.n_labels)
    n_i, n_u, n_k = len(item_kept), len(user_kept), len(label_kept)
    answer = user * n_k + label
    ones = np.ones(len(d), dtype=np.float64)
    by_item = sp.csr_array((ones, (item, answer)), shape=(n_i, n_u * n_k))
    votes = np.bincount(item * n_k + label, minlength=n_i * n_k).reshape(n_i, n_k).astype(np.float64)
    used = (np.bincount(answer, minlength=n_u * n_k) > 0).reshape(n_u, n_k)
    return _Problem(
        items=d.items[item_kept].rename(ITEM_ID),
        users=d.users[user_kept].rename(USER_ID),
        labels=pd.Index(d.labels[label_kept], name=LABEL),
        by_item=by_item,
        by_answer=by_item.T.tocsr(),
        used=used,
        votes=votes,
    )


@dataclass(eq=False)
class DawidSkene:
    """Dawid–Skene EM consensus (crowd-kit style: ``fit`` then trailing-underscore results).

    Input: a label frame (``item_id``, ``user_id``, ``label``; last row per pair counts) or
    a :class:`~bot.quality.data.LabelData`.

    Fitted attributes:

    * ``labels_`` – Series item_id → most probable label (ties: label sorting first);
    * ``probas_`` – DataFrame item_id × label of posteriors (rows sum to 1);
    * ``priors_`` – Series label → π_k;
    * ``errors_`` – DataFrame indexed by (user_id, true_label), columns observed label:
      θ_u[k, l], each row sums to 1;
    * ``annotator_accuracy_`` – Series user_id → Σ_k π_k θ_u[k, k], the model's probability
      that the annotator labels a random item correctly;
    * ``n_iter_`` – EM iterations run (each an M-step then an E-step);
    * ``converged_`` – whether the stopping rule fired within ``max_iter`` iterations;
    * ``loss_history_`` – observed-data log-likelihood after each iteration (higher is
      better; non-decreasing);
    * ``log_likelihood_`` – its last value.

    Degenerate inputs: no labels → empty results, ``n_iter_ = 0``, ``converged_ = True``;
    one label used → every item gets it with probability 1 (log-likelihood 0); a single
    annotator → their labels (the model cannot tell errors apart without overlap). Items,
    users and labels with no current label are left out of the results.
    """

    max_iter: int = 10_000
    tol: float = 1e-10
    ll_tol: float | None = None
    eps: float = 1e-10

    labels_: pd.Series = field(init=False, repr=False)
    probas_: pd.DataFrame = field(init=False, repr=False)
    priors_: pd.Series = field(init=False, repr=False)
    errors_: pd.DataFrame = field(init=False, repr=False)
    annotator_accuracy_: pd.Series = field(init=False, repr=False)
    n_iter_: int = field(init=False, repr=False)
    converged_: bool = field(init=False, repr=False)
    loss_history_: list[float] = field(init=False, repr=False)
    log_likelihood_: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if int(self.max_iter) != self.max_iter or self.max_iter < 1:
            raise ValueError(f"max_iter must be a positive integer, got {self.max_iter!r}")
        if not self.tol >= 0:
            raise ValueError(f"tol must be >= 0, got {self.tol!r}")
        if self.ll_tol is not None and not self.ll_tol >= 0:
            raise ValueError(f"ll_tol must be >= 0 or None, got {self.ll_tol!r}")
        if not self.eps >= 0:
            raise ValueError(f"eps must be >= 0, got {self.eps!r}")

    # ------------------------------------------------------------------ EM steps

    def _m_step(self, p: _Problem, posterior: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Priors (K) and confusion matrices θ (users × true K × observed K)."""
        n_u, n_k = p.used.shape
        priors = posterior.mean(axis=0)
        expected = (p.by_answer @ posterior).reshape(n_u, n_k, n_k).transpose(0, 2, 1)
        used = p.used[:, None, :]
        expected = np.where(used, np.maximum(expected, self.eps), 0.0)
        total = expected.sum(axis=2, keepdims=True)
        if self.eps > 0:
            return priors, expected / total
        # Plain MLE: a class with no posterior mass on the user's items gets a uniform row
        # over the labels the user used; it never matters for the likelihood.
        uniform = used / np.maximum(used.sum(axis=2, keepdims=True), 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return priors, np.where(total > 0, expected / total, uniform)

    @staticmethod
    def _e_step(p: _Problem, priors: FloatArray, theta: FloatArray) -> tuple[FloatArray, float]:
        """Posteriors (items × K) and the observed-data log-likelihood."""
        n_u, n_k = p.used.shape
        with np.errstate(divide="ignore"):
            log_theta = np.log(theta.transpose(0, 2, 1).reshape(n_u * n_k, n_k))
            log_prior = np.log(priors)
        log_theta[~p.used.reshape(-1)] = 0.0  # never referenced; keeps -inf out of the product
        joint = p.by_item @ log_theta + log_prior
        top = joint.max(axis=1, keepdims=True)
        scaled = np.exp(joint - top)
        total = scaled.sum(axis=1, keepdims=True)
        return scaled / total, float(np.sum(top + np.log(total)))

    # ------------------------------------------------------------------ public API

    def fit(self, data: pd.DataFrame | LabelData) -> DawidSkene:
        """Run EM to convergence (or ``max_iter``) and store the fitted attributes."""
        d = as_label_data(data)
        if len(d) == 0:
            self._set_empty(d)
            return self
        p = _problem(d)
        posterior = p.votes / p.votes.sum(axis=1, keepdims=True)
        priors, theta = self._m_step(p, posterior)
        posterior, ll = self._e_step(p, priors, theta)
        history = [ll]
        converged = False
        while len(history) < self.max_iter and not converged:
            new_priors, new_theta = self._m_step(p, posterior)
            new_posterior, ll = self._e_step(p, new_priors, new_theta)
            moved = max(
                float(np.max(np.abs(new_posterior - posterior))),
                float(np.max(np.abs(new_priors - priors))),
                float(np.max(np.abs(new_theta - theta))),
            )
            gain = ll - history[-1]
            converged = moved <= self.tol or (self.ll_tol is not None and gain <= self.ll_tol * abs(ll))
            history.append(ll)
            priors, theta, posterior = new_priors, new_theta, new_posterior
        self._set_results(p, posterior, priors, theta, history, converged)
        return self

    def fit_predict(self, data: pd.DataFrame | LabelData) -> pd.Series:
        """Fit and return ``labels_``."""
        return self.fit(data).labels_

    def fit_predict_proba(self, data: pd.DataFrame | LabelData) -> pd.DataFrame:
        """Fit and return ``probas_``."""
        return self.fit(data).probas_

    # ------------------------------------------------------------------ results

    def _set_results(
        self,
        p: _Problem,
        posterior: FloatArray,
        priors: FloatArray,
        theta: FloatArray,
        history: list[float],
        converged: bool,
    ) -> None:
        n_u, n_k = p.used.shape
        self.probas_ = pd.DataFrame(posterior, index=p.items, columns=p.labels)
        self.labels_ = pd.Series(
            p.labels.to_numpy(dtype=object)[np.argmax(posterior, axis=1)], index=p.items, name=LABEL
        )
        self.priors_ = pd.Series(priors, index=p.labels, name="prior")
        rows = pd.MultiIndex.from_product([p.users, p.labels], names=[USER_ID, "true_label"])
        self.errors_ = pd.DataFrame(theta.reshape(n_u * n_k, n_k), index=rows, columns=p.labels)
        diagonal = theta[:, np.arange(n_k), np.arange(n_k)]
        self.annotator_accuracy_ = pd.Series(diagonal @ priors, index=p.users, name="accuracy")
        self.n_iter_ = len(history)
        self.converged_ = converged
        self.loss_history_ = history
        self.log_likelihood_ = history[-1]

    def _set_empty(self, d: LabelData) -> None:
        items = pd.Index(d.items[:0], name=ITEM_ID)
        users = pd.Index(d.users[:0], name=USER_ID)
        labels = pd.Index(d.labels[:0], name=LABEL)
        self.probas_ = pd.DataFrame(np.zeros((0, 0)), index=items, columns=labels)
        self.labels_ = pd.Series([], index=items, name=LABEL, dtype=object)
        self.priors_ = pd.Series([], index=labels, name="prior", dtype=np.float64)
        rows = pd.MultiIndex.from_arrays([users, labels], names=[USER_ID, "true_label"])
        self.errors_ = pd.DataFrame(np.zeros((0, 0)), index=rows, columns=labels)
        self.annotator_accuracy_ = pd.Series([], index=users, name="accuracy", dtype=np.float64)
        self.n_iter_ = 0
        self.converged_ = True
        self.loss_history_ = []
        self.log_likelihood_ = 0.0
