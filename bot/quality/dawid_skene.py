"""Dawid–Skene consensus: EM estimate of true labels and per-annotator confusion matrices.

Model (Dawid & Skene 1979): item i has a hidden true label k with prior π_k; annotator u,
given true label k, answers l with probability θ_u[k, l], independently of the others.
EM alternates

* E-step: posterior T_ik ∝ π_k Π_{(u, l) on i} θ_u[k, l] (in log space, then normalised);
* M-step: π_k = mean_i T_ik and θ_u[k, l] ∝ max(Σ_{i labelled l by u} T_ik, eps) + alpha

(the eps floor only on labels u used; labels u never used get just ``alpha``).

* Initialisation from majority vote: the first M-step uses each item's vote shares as
  its posterior (soft majority vote), as crowd-kit does.
* Smoothing, ``alpha`` (default 0.2): a pseudo-count added to every cell of every
  confusion row, i.e. the MAP estimate under a symmetric Dirichlet(1 + alpha) prior on
  each row. Without it, confusions an annotator never made have a maximum-likelihood
  value of exactly 0, which EM approaches only geometrically: on a realistic
  300,000-label export plain EM then needs ~8,000 iterations before no posterior moves by
  1e-10 (with alpha = 0.2, 100-150). It also tempers the matrices of annotators with few
  labels (with five labels, an annotator right 9 times out of 10 on a class gets 0.84
  there, not 0.9).
* ``eps`` (1e-10) floors the expected count of each label the annotator used before
  normalising, crowd-kit's rule, so such a label never becomes impossible under a class
  (a hard zero would lock items out of that class for good). ``alpha=0`` with the
  default ``eps`` is exactly crowd-kit's ``DawidSkene`` step (priors aside: crowd-kit
  floors them at 1e-10, which matters only for a prior below that), so the two can be
  compared iteration by iteration; ``alpha=0, eps=0`` is plain maximum likelihood.
* Objective: EM never decreases the observed-data log-likelihood
  Σ_i log Σ_k π_k Π θ_u[k, l] plus the log prior alpha·Σ log θ (the log posterior, up to a
  constant); ``loss_history_`` records it per iteration. It is non-decreasing up to
  rounding (~1e-15 relative; the eps floor perturbs the exact M-step by no more).
* Stopping: crowd-kit stops when its ELBO-like loss (not monotone) gains less than 1e-5,
  often after a handful of iterations. Here EM runs until one iteration moves no
  posterior, prior or confusion entry by more than ``tol`` (1e-10), or ``max_iter``. An
  extra relative criterion on the objective, gain <= ``ll_tol``·|objective|, is available
  but off by default: the objective is flat (quadratic) near the optimum, so a 1e-10
  relative gain can leave posteriors moving by 1e-5 per iteration and several 1e-2 away
  from the fixed point.
* Acceleration, ``accelerate=True`` (off by default, so that iterations compare one to
  one with a textbook EM and crowd-kit; the quality report turns it on): SQUAREM
  (Varadhan & Roland 2008, step length S3) on the parameters θ = (π, confusions). A
  cycle takes two EM steps from θ0, θ1 = F(θ0) and θ2 = F(θ1), extrapolates
  θ' = θ0 + 2s·r + s²·v with r = θ1 - θ0, v = θ2 - 2·θ1 + θ0 and s = |r| / |v| (at least 1,
  at most a cap that starts at 1 and grows 4-fold each time it is reached, as in the
  SQUAREM package), and ends with one EM step from θ'. θ' is used only if it stays in the
  parameter space (positive, no new zero), its objective is not below θ1's and neither is
  the objective after its EM step (both up to 1e-14 relative, the objective's own rounding:
  near the optimum a strict test rejects good steps at random); otherwise (s halved
  towards 1 first while θ' leaves the space) the cycle ends at θ2, plain EM. The stopping
  rule is unchanged and applied to the plain EM steps of each cycle (θ0 → θ1, then
  θ' → F(θ') or θ1 → θ2): the fit still ends where one EM step moves nothing by more than
  ``tol``, at a fixed point of the same EM map. On the benchmark's million labels
  (benchmarks/quality_report.py) that takes 33-36 EM steps instead of 94, with the same
  labels and parameters within 1e-10 of plain EM run to tol=1e-13; on planted data of
  every size tried, the same fixed point to 1e-11; where plain EM crawls (alpha = 0) 6-9
  times fewer steps. Where EM has several fixed points (tiny or degenerate data, e.g. one
  disputed item), the accelerated run can stop at another one than plain EM, such as a
  symmetric saddle that plain EM leaves only after hundreds of iterations. With it
  ``n_iter_`` counts EM steps (M-steps; the E-step on θ' is extra) and ``loss_history_``
  holds the objective of each state the fit moves to (θ1, then F(θ') or θ2 per cycle),
  non-decreasing up to rounding, so it is shorter than ``n_iter_``.
* Ties in the posterior argmax go to the label that sorts first.

Everything runs on integer-coded arrays with sparse matrix products,
O(labels × classes + annotators × classes²) per iteration; no Python loop over rows.
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
    by_answer: sp.csc_array  # its transpose (a view), for the M-step
    used: npt.NDArray[np.bool_]  # users × K: labels each user used
    votes: FloatArray  # K × items vote shares (soft majority vote)


def _compact(codes: IntArray, size: int) -> tuple[IntArray, IntArray]:
    """Codes that occur (sorted, so label order is kept) and codes re-numbered onto them."""
    present = np.bincount(codes, minlength=size) > 0
    kept = np.flatnonzero(present)
    new = np.cumsum(present) - 1
    return kept.astype(np.int64), new[codes].astype(np.int64)


_SLACK = 1e-14  # relative: the objective (a sum over items) is not exact to better


def _positive(new: FloatArray, old: FloatArray) -> bool:
    """True when every entry of ``new`` is positive, or zero where ``old`` was zero."""
    return bool(np.all((new > 0) | ((new == 0) & (old == 0))))


def _problem(d: LabelData) -> _Problem:
    item_kept, item = _compact(d.item, d.n_items)
    user_kept, user = _compact(d.user, d.n_users)
    label_kept, label = _compact(d.label, d.n_labels)
    n_i, n_u, n_k = len(item_kept), len(user_kept), len(label_kept)
    answer = user * n_k + label
    ones = np.ones(len(d), dtype=np.float64)
    index_type = np.int32 if max(n_i, n_u * n_k, len(d)) < 2**31 - 1 else np.int64
    by_item = sp.csr_array(
        (ones, (item.astype(index_type), answer.astype(index_type))), shape=(n_i, n_u * n_k)
    )
    votes = np.bincount(label * n_i + item, minlength=n_k * n_i).reshape(n_k, n_i).astype(np.float64)
    votes /= votes.sum(axis=0)
    used = (np.bincount(answer, minlength=n_u * n_k) > 0).reshape(n_u, n_k)
    return _Problem(
        items=d.items[item_kept].rename(ITEM_ID),
        users=d.users[user_kept].rename(USER_ID),
        labels=pd.Index(d.labels[label_kept], name=LABEL),
        by_item=by_item,
        by_answer=by_item.T,
        used=used,
        votes=votes,
    )


@dataclass(frozen=True, slots=True)
class _State:
    """Parameters and the posterior / objective they imply."""

    priors: FloatArray  # K
    theta: FloatArray  # users × true K × observed K
    posterior: FloatArray  # K × items
    log_likelihood: float
    objective: float  # log-likelihood + alpha · Σ log θ


@dataclass(eq=False)
class DawidSkene:
    """Dawid–Skene EM consensus (crowd-kit style: ``fit`` then trailing-underscore results).

    Input: a label frame (``item_id``, ``user_id``, ``label``; last row per pair counts) or
    a :class:`~bot.quality.data.LabelData`. Parameters (see the module docstring):
    ``max_iter`` caps iterations, ``tol`` is the parameter-movement stopping threshold,
    ``ll_tol`` an optional relative objective threshold, ``alpha`` the smoothing
    pseudo-count, ``eps`` the M-step floor, ``accelerate`` SQUAREM extrapolation (same
    fixed point, far fewer EM steps).

    Fitted attributes:

    * ``labels_`` – Series item_id → most probable label (ties: label sorting first);
    * ``probas_`` – DataFrame item_id × label of posteriors (rows sum to 1);
    * ``priors_`` – Series label → π_k;
    * ``errors_`` – DataFrame indexed by (user_id, true_label), columns observed label:
      θ_u[k, l], each row sums to 1;
    * ``annotator_accuracy_`` – Series user_id → Σ_k π_k θ_u[k, k], the model's probability
      that the annotator labels a random item correctly;
    * ``n_iter_`` – EM iterations run (an M-step then an E-step each; the first starts
      from the majority vote; with ``accelerate``, EM steps including the extrapolations'
      second steps);
    * ``converged_`` – whether the stopping rule fired within ``max_iter`` iterations;
    * ``loss_history_`` – the objective after each iteration (log-likelihood + log prior;
      higher is better, non-decreasing; with ``accelerate``, after each state moved to);
    * ``log_likelihood_`` – the final observed-data log-likelihood (without the prior).

    ``probas_`` is always the posterior under the final ``priors_`` and ``errors_``.

    Degenerate inputs: no labels → empty results, ``n_iter_ = 0``, ``converged_ = True``.
    No item with two labels (e.g. a single annotator) → no EM (the model cannot tell
    errors apart without overlap): each item keeps its label with probability 1, priors
    are the label shares, every confusion matrix is the identity, ``n_iter_ = 0``,
    ``loss_history_ = []``, ``converged_ = True``. One label used → every item gets it
    with probability 1. Items, users and labels
    without a current label are left out of the results; items come in the order of
    :class:`~bot.quality.data.LabelData` (first appearance).
    """

    max_iter: int = 10_000
    tol: float = 1e-10
    ll_tol: float | None = None
    alpha: float = 0.2
    eps: float = 1e-10
    accelerate: bool = False

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
        for name in ("tol", "alpha", "eps"):
            value = getattr(self, name)
            if not (value >= 0 and np.isfinite(value)):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.ll_tol is not None and not self.ll_tol >= 0:
            raise ValueError(f"ll_tol must be >= 0 or None, got {self.ll_tol!r}")

    # ------------------------------------------------------------------ EM steps

    def _m_step(self, p: _Problem, posterior: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Priors (K) and confusion matrices θ (users × true K × observed K)."""
        n_u, n_k = p.used.shape
        priors = posterior.mean(axis=1)
        # (user·K + label) × true K expected counts: one pass of the transposed (CSC) matrix
        # over the item-major posterior, faster than K sparse mat-vecs.
        expected = p.by_answer @ np.ascontiguousarray(posterior.T)
        expected = expected.reshape(n_u, n_k, n_k).transpose(0, 2, 1)
        used = p.used[:, None, :]
        expected = np.where(used, np.maximum(expected, self.eps), 0.0) + self.alpha
        total = expected.sum(axis=2, keepdims=True)
        if self.alpha > 0 or self.eps > 0:
            return priors, expected / total
        # Plain MLE: a class with no posterior mass on the user's items gets a uniform row
        # over the labels the user used; it never matters for the likelihood.
        uniform = used / np.maximum(used.sum(axis=2, keepdims=True), 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return priors, np.where(total > 0, expected / np.where(total > 0, total, 1.0), uniform)

    def _e_step(self, p: _Problem, priors: FloatArray, theta: FloatArray) -> _State:
        """Posterior (K × items), log-likelihood and objective of given parameters."""
        n_u, n_k = p.used.shape
        with np.errstate(divide="ignore"):
            log_theta = np.log(theta)
            log_prior = np.log(priors)
        # Rows are (user, observed label); unused ones are never referenced: 0 keeps -inf out.
        table = np.where(p.used.reshape(-1, 1), log_theta.transpose(0, 2, 1).reshape(n_u * n_k, n_k), 0.0)
        joint = np.ascontiguousarray((p.by_item @ table).T)
        joint += log_prior[:, None]
        top = joint.max(axis=0)
        joint -= top
        np.exp(joint, out=joint)
        total = joint.sum(axis=0)
        joint *= 1.0 / total
        ll = float(np.sum(top) + np.sum(np.log(total)))
        penalty = self.alpha * float(np.sum(log_theta)) if self.alpha > 0 else 0.0
        return _State(priors, theta, joint, ll, ll + penalty)

    def _stopped(self, old: _State, new: _State) -> bool:
        """The stopping rule, applied to one iteration old → new."""
        gain = new.objective - old.objective
        if self.ll_tol is not None and gain <= self.ll_tol * abs(new.objective):
            return True
        # Cheap parameters first: while they move, the (large) posterior need not be compared.
        if (
            max(float(np.max(np.abs(new.priors - old.priors))), float(np.max(np.abs(new.theta - old.theta))))
            > self.tol
        ):
            return False
        return float(np.max(np.abs(new.posterior - old.posterior))) <= self.tol

    # ------------------------------------------------------------------ public API

    def fit(self, data: pd.DataFrame | LabelData) -> DawidSkene:
        """Run EM to convergence (or ``max_iter`` iterations) and store the results."""
        d = as_label_data(data)
        if len(d) == 0:
            self._set_empty(d)
            return self
        p = _problem(d)
        if np.diff(p.by_item.indptr).max() < 2:
            self._set_unpaired(p)
            return self
        state = self._e_step(p, *self._m_step(p, p.votes))
        history = [state.objective]
        steps = 1
        converged = False
        step_max = 1.0
        while steps < self.max_iter and not converged:
            new = self._e_step(p, *self._m_step(p, state.posterior))
            steps += 1
            history.append(new.objective)
            converged = self._stopped(state, new)
            if self.accelerate and not converged and steps + 2 <= self.max_iter:
                state, converged, step_max, used = self._squarem(p, state, new, step_max)
                history.append(state.objective)
                steps += used
            else:
                state = new
        self._set_results(p, state, history, converged, steps)
        return self

    def _squarem(
        self, p: _Problem, start: _State, one: _State, step_max: float
    ) -> tuple[_State, bool, float, int]:
        """The rest of a SQUAREM cycle from ``start`` and its EM step ``one``.

        Returns the state reached, whether a plain EM step on the way met the stopping rule,
        the next cycle's largest step length, and the EM steps (M-steps) used.
        """
        priors2, theta2 = self._m_step(p, one.posterior)
        r = (one.priors - start.priors, one.theta - start.theta)
        v = (priors2 - 2.0 * one.priors + start.priors, theta2 - 2.0 * one.theta + start.theta)
        sr = float(np.sum(r[0] ** 2) + np.sum(r[1] ** 2))
        sv = float(np.sum(v[0] ** 2) + np.sum(v[1] ** 2))
        step = min(max(float(np.sqrt(sr / sv)), 1.0), step_max) if sv > 0 else 1.0
        if step >= step_max:
            step_max *= 4.0
        extrapolated = False
        while step > 1.0 + 1e-9:
            priors = start.priors + 2.0 * step * r[0] + step * step * v[0]
            theta = start.theta + 2.0 * step * r[1] + step * step * v[1]
            # Stay inside the parameter space, and create no new zero.
            if _positive(priors, start.priors) and _positive(theta, start.theta):
                extrapolated = True
                jump = self._e_step(p, priors, theta)
                floor = one.objective - _SLACK * abs(one.objective)
                if jump.objective >= floor:  # False for NaN too
                    new = self._e_step(p, *self._m_step(p, jump.posterior))
                    if new.objective >= floor:
                        return new, self._stopped(jump, new), step_max, 2
                break  # no gain: take the plain second step instead
            step = (step + 1.0) / 2.0
        two = self._e_step(p, priors2, theta2)
        return two, self._stopped(one, two), max(1.0, step_max / 4.0) if extrapolated else step_max, 1

    def fit_predict(self, data: pd.DataFrame | LabelData) -> pd.Series:
        """Fit and return ``labels_``."""
        return self.fit(data).labels_

    def fit_predict_proba(self, data: pd.DataFrame | LabelData) -> pd.DataFrame:
        """Fit and return ``probas_``."""
        return self.fit(data).probas_

    # ------------------------------------------------------------------ results

    def _set_results(
        self, p: _Problem, s: _State, history: list[float], converged: bool, steps: int | None = None
    ) -> None:
        n_u, n_k = p.used.shape
        self.probas_ = pd.DataFrame(s.posterior.T, index=p.items, columns=p.labels)
        self.labels_ = pd.Series(
            p.labels.to_numpy(dtype=object)[np.argmax(s.posterior, axis=0)], index=p.items, name=LABEL
        )
        self.priors_ = pd.Series(s.priors, index=p.labels, name="prior")
        rows = pd.MultiIndex.from_product([p.users, p.labels], names=[USER_ID, "true_label"])
        self.errors_ = pd.DataFrame(s.theta.reshape(n_u * n_k, n_k), index=rows, columns=p.labels)
        diagonal = s.theta[:, np.arange(n_k), np.arange(n_k)]
        self.annotator_accuracy_ = pd.Series(diagonal @ s.priors, index=p.users, name="accuracy")
        self.n_iter_ = len(history) if steps is None else steps
        self.converged_ = converged
        self.loss_history_ = history
        self.log_likelihood_ = s.log_likelihood

    def _set_unpaired(self, p: _Problem) -> None:
        """No item has two labels: nothing to learn errors from; each label stands as given."""
        n_u, n_k = p.used.shape
        priors = p.votes.mean(axis=1)
        theta = np.broadcast_to(np.eye(n_k), (n_u, n_k, n_k)).copy()
        with np.errstate(divide="ignore"):
            ll = float(np.sum(p.votes * np.log(priors)[:, None]))
        self._set_results(p, _State(priors, theta, p.votes, ll, ll), [], True)

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
