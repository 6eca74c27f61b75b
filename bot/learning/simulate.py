"""Replay a labeled data set to measure how many human labels active learning saves.

The simulation mimics the bot: items arrive in an import order, simulated annotators
answer, items resolve by consensus (fixed overlap) or by the dynamic overlap rule, and
the model is retrained every ``retrain_every`` resolved items. After each retrain the
model is scored on a held-out split, giving macro-F1 against HUMAN LABELS spent (not
items: with overlap 3 an item costs 3 labels).

Everything is seeded: the same data and config give the same curves, bit for bit on
one machine.
"""

from __future__ import annotations

import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction import text as sklearn_text
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import FeatureUnion

from bot.learning import strategies
from bot.learning.pipeline import build_default_pipeline, predict_proba_batched, wants_char_ngrams
from bot.learning.sampling import LENGTH_POWER, length_weight
from bot.learning.strategies import DEFAULT_STRATEGY, STRATEGIES
from bot.overlap import Decision, OverlapPolicy

#: How scikit-learn returns a count matrix (sparse array or matrix, by its version's setting).
_align_sparse: Callable[[Any], Any] = getattr(sklearn_text, "_align_api_if_sparse", lambda matrix: matrix)

__all__ = [
    "Comparison",
    "SimulationConfig",
    "SimulationResult",
    "compare",
    "labels_to_reach",
    "mean_result",
    "plot_learning_curves",
    "simulate",
]


@dataclass(frozen=True)
class SimulationConfig:
    """One simulated labeling campaign.

    ``strategy``: a :data:`~bot.learning.sampling.STRATEGIES` name; ``"random"`` means
    items are asked in (shuffled) import order, i.e. no active learning.
    ``overlap``: fixed labels per item, used when ``dynamic`` is None. ``dynamic``: an
    :class:`OverlapPolicy` (min/max labels, confidence threshold, agreement).
    ``initial_size``: items labeled in import order before the first model (cold start).
    ``label_budget``: stop after this many human labels (None: until the pool is empty).
    ``annotator_accuracy``: one value for all annotators or one per annotator; a wrong
    answer is a uniformly random other label. ``agreement``: the consensus share for
    fixed overlap (dynamic overlap uses ``dynamic.agreement``). ``expert_accuracy``:
    items that fail the agreement rule (share too low, or a tie) go to an expert whose
    label costs one more human label and is right with this probability; None breaks
    the tie at random instead, at no cost. ``explore``: share of posts that ignore the
    model (see :func:`~bot.learning.sampling.explore_mask`). ``char_ngrams``: the project's
    ``model.char_ngrams`` for the default model ("auto": as the bot decides, by the pool's size
    and the labels so far; :func:`~bot.learning.pipeline.wants_char_ngrams`). ``length_power``:
    the project's ``model.length_power`` (:func:`~bot.learning.sampling.length_weight`).
    """

    strategy: str = DEFAULT_STRATEGY
    overlap: int = 1
    dynamic: OverlapPolicy | None = None
    initial_size: int = 20
    retrain_every: int = 50
    label_budget: int | None = None
    n_annotators: int = 5
    annotator_accuracy: float | tuple[float, ...] = 0.85
    agreement: float = 0.66
    expert_accuracy: float | None = 0.95
    test_size: float | int = 0.3
    explore: float = 0.0
    cold_start: str = "import"
    rerank_top: int = 1000
    char_ngrams: bool | str = "auto"
    length_power: float = LENGTH_POWER
    seed: int = 0

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {self.strategy!r}; choose one of {', '.join(STRATEGIES)}")
        self._check_choices()
        if self.rerank_top < 1:
            raise ValueError("rerank_top must be >= 1")
        if not 0 <= self.length_power <= 2:
            raise ValueError("length_power must be in [0, 2]")
        if self.overlap < 1 or self.initial_size < 1 or self.retrain_every < 1:
            raise ValueError("overlap, initial_size and retrain_every must be >= 1")
        needed = self.dynamic.max if self.dynamic else self.overlap
        if self.n_annotators < needed:
            raise ValueError(f"need at least {needed} annotators for that overlap, have {self.n_annotators}")
        accuracies = self.accuracies()
        if len(accuracies) != self.n_annotators or not all(0 <= a <= 1 for a in accuracies):
            raise ValueError("annotator_accuracy must be one value or one per annotator, each in [0, 1]")
        if not 0 < self.agreement <= 1:
            raise ValueError("agreement must be in (0, 1]")
        if self.expert_accuracy is not None and not 0 <= self.expert_accuracy <= 1:
            raise ValueError("expert_accuracy must be in [0, 1] or None")
        if self.label_budget is not None and self.label_budget < 1:
            raise ValueError("label_budget must be >= 1 or None")

    def _check_choices(self) -> None:
        if self.cold_start not in ("import", "clustered"):
            raise ValueError(f"cold_start must be 'import' or 'clustered', not {self.cold_start!r}")
        if not isinstance(self.char_ngrams, bool) and self.char_ngrams != "auto":
            raise ValueError(f"char_ngrams must be True, False or 'auto', not {self.char_ngrams!r}")

    def accuracies(self) -> tuple[float, ...]:
        """Accuracy of each simulated annotator."""
        if isinstance(self.annotator_accuracy, (int, float)):
            return (float(self.annotator_accuracy),) * self.n_annotators
        return tuple(float(a) for a in self.annotator_accuracy)

    def describe(self) -> str:
        """Short name for legends: strategy and overlap."""
        if self.dynamic:
            return f"{self.strategy}, dynamic overlap {self.dynamic.min}-{self.dynamic.max}"
        return f"{self.strategy}, overlap {self.overlap}"


@dataclass(frozen=True)
class SimulationResult:
    """Learning curve of one run: one entry per retrain."""

    name: str
    config: SimulationConfig
    labels_spent: np.ndarray  # human labels spent so far, at each evaluation
    n_resolved: np.ndarray  # items resolved so far, at each evaluation
    macro_f1: np.ndarray  # on the held-out split
    accuracy: np.ndarray  # on the held-out split
    label_accuracy: float  # share of resolved items whose consensus label is the true one
    labels_per_item: float  # human labels per resolved item, overall (expert labels included)
    escalated_share: float  # share of resolved items that needed an expert
    n_test: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def final_f1(self) -> float:
        """Macro-F1 at the last evaluation (NaN if the run never trained)."""
        return float(self.macro_f1[-1]) if self.macro_f1.size else float("nan")

    @property
    def total_labels(self) -> int:
        """Human labels spent when the run ended."""
        return int(self.labels_spent[-1]) if self.labels_spent.size else 0


def _plurality(votes: Sequence[int], rng: np.random.Generator) -> int:
    counts = Counter(votes)
    best = max(counts.values())
    tied = sorted(label for label, c in counts.items() if c == best)
    return tied[0] if len(tied) == 1 else int(rng.choice(tied))


class _Annotators:
    """Simulated annotators; each answers the truth with its accuracy, else another label."""

    def __init__(self, accuracies: Sequence[float], n_classes: int, rng: np.random.Generator) -> None:
        self.accuracies = np.asarray(accuracies)
        self.n_classes = n_classes
        self.rng = rng

    def order(self) -> np.ndarray:
        return self.rng.permutation(len(self.accuracies))

    def answer(self, annotator: int, truth: int) -> int:
        return self.answer_with(float(self.accuracies[annotator]), truth)

    def answer_with(self, accuracy: float, truth: int) -> int:
        if self.n_classes == 1 or self.rng.random() < accuracy:
            return truth
        return int((truth + self.rng.integers(1, self.n_classes)) % self.n_classes)


def simulate(
    texts: Sequence[str] | np.ndarray,
    labels: Sequence[str] | np.ndarray,
    config: SimulationConfig | None = None,
    *,
    pipeline_factory: Callable[[], Any] | None = None,
    name: str | None = None,
) -> SimulationResult:
    """Run one simulated campaign over ``texts`` with true ``labels``; see the module doc.

    The data are split into a stratified held-out test set (``config.test_size``) and a
    pool. Import order is a seeded shuffle of the pool (real imports are often sorted by
    source or topic). Cold start: the first ``initial_size`` items in import order (the
    same items for every strategy with the same seed). Each round then takes the
    ``retrain_every`` highest-priority pending items under the model trained at the end
    of the previous round, labels them, and retrains on every resolved item.

    Resolution: fixed overlap asks ``overlap`` annotators, then applies the bot's
    agreement rule (a single top label with share >= ``agreement`` wins, otherwise an
    expert decides; see ``expert_accuracy``). Dynamic overlap asks one annotator at a
    time until :func:`~bot.overlap.needs_more_labels` stops, using the current
    model's prediction and confidence; "resolve" takes the unanimous label, "apply
    agreement rule" applies the same rule to the votes so far.
    """
    cfg = config or SimulationConfig()
    x_all = np.asarray(list(texts), dtype=object)
    y_names = np.asarray([str(v) for v in labels], dtype=object)
    if x_all.shape != y_names.shape:
        raise ValueError(f"got {len(x_all)} texts but {len(y_names)} labels")
    classes = np.array(sorted(set(y_names.tolist())), dtype=object)
    if classes.size < 2:
        raise ValueError("simulation needs at least 2 classes")
    campaign = _Campaign(cfg, x_all, np.searchsorted(classes, y_names), classes, pipeline_factory)
    campaign.run()
    return campaign.result(name or cfg.describe())


class _Campaign:
    """The state of one simulated campaign: the pool, what is resolved, the model, the curve."""

    def __init__(
        self,
        cfg: SimulationConfig,
        x_all: np.ndarray,
        y_all: np.ndarray,
        classes: np.ndarray,
        pipeline_factory: Callable[[], Any] | None,
    ) -> None:
        self.cfg, self.classes, self.pipeline_factory = cfg, classes, pipeline_factory
        seeds = np.random.SeedSequence(cfg.seed).spawn(6)
        split_seed = int(seeds[0].generate_state(1)[0])
        order_rng, annot_rng, self.explore_rng, self.tie_rng, self.order_rng = (
            np.random.default_rng(s) for s in seeds[1:]
        )
        pool_idx, test_idx = train_test_split(
            np.arange(len(y_all)), test_size=cfg.test_size, stratify=y_all, random_state=split_seed
        )
        self.pool_x, self.pool_y = x_all[pool_idx], y_all[pool_idx]
        self.test_x, self.test_y = list(x_all[test_idx]), y_all[test_idx]
        self.import_seq = order_rng.permutation(len(pool_idx))
        self.pool_weight = length_weight(list(self.pool_x), cfg.length_power)
        if cfg.cold_start == "clustered":
            self.ranking = strategies.cold_start_order(
                list(self.pool_x), cfg.initial_size, import_seq=self.import_seq
            )
        else:
            self.ranking = np.argsort(self.import_seq, kind="stable")
        self.cursor = 0
        self.since_train = 0
        self.retrain_seconds: list[float] = []
        self.annotators = _Annotators(cfg.accuracies(), classes.size, annot_rng)
        self.pending = np.ones(len(pool_idx), dtype=bool)
        self.resolved_items: list[int] = []
        self.resolved_labels: list[int] = []
        self.labels_spent = 0
        self.escalations = 0
        self.model: Any = None
        self.pool_proba: np.ndarray | None = None  # the model's probabilities for the pool, per class
        self.curve: list[tuple[int, int, float, float]] = []
        self.agreement = cfg.dynamic.agreement if cfg.dynamic else cfg.agreement
        self.ngram_counts: dict[tuple[Any, ...], _NgramCounts] = {}

    def budget_left(self) -> bool:
        return self.cfg.label_budget is None or self.labels_spent < self.cfg.label_budget

    def run(self) -> None:
        """Post items one at a time as the bot does, retraining when the bot would."""
        while self.pending.any() and self.budget_left():
            item = self.next_item()
            if self.pool_proba is None:
                m_label, m_conf = None, None
            else:
                m_label, m_conf = int(self.pool_proba[item].argmax()), float(self.pool_proba[item].max())
            label, spent = self.label_item(item, m_label, m_conf)
            self.labels_spent += spent
            self.pending[item] = False
            self.resolved_items.append(item)
            self.resolved_labels.append(label)
            self.since_train += 1
            due = self.cfg.initial_size if self.model is None else self.cfg.retrain_every
            if self.since_train >= due:
                self.retrain()
        if self.since_train and self.model is not None:
            self.retrain()  # the last labels count too: the curve ends where the budget does

    def next_item(self) -> int:
        """The next pending item in the stored ranking, or (``explore``) a random pending one."""
        if self.model is not None and self.cfg.explore and self.explore_rng.random() < self.cfg.explore:
            return int(self.explore_rng.choice(np.flatnonzero(self.pending)))
        while not self.pending[self.ranking[self.cursor]]:
            self.cursor += 1
        return int(self.ranking[self.cursor])

    def label_item(self, item: int, model_label: int | None, model_conf: float | None) -> tuple[int, int]:
        """(label, labels spent) for one item, as the bot's overlap rule asks for them."""
        truth = int(self.pool_y[item])
        votes: dict[int, int] = {}
        annotators, dynamic = self.annotators, self.cfg.dynamic
        if dynamic is None:
            for annotator in annotators.order()[: self.cfg.overlap]:
                votes[int(annotator)] = annotators.answer(int(annotator), truth)
        else:
            model_name = None if model_label is None else str(self.classes[model_label])
            for annotator in annotators.order():
                votes[int(annotator)] = annotators.answer(int(annotator), truth)
                named = {user: str(self.classes[v]) for user, v in votes.items()}
                decision = dynamic.decide(named, model_name, model_conf)
                if decision is Decision.RESOLVE:
                    return next(iter(votes.values())), len(votes)
                if decision is Decision.APPLY_AGREEMENT_RULE:
                    break
        label, extra = self.agreement_rule(list(votes.values()), truth)
        return label, len(votes) + extra

    def agreement_rule(self, votes: list[int], truth: int) -> tuple[int, int]:
        """(label, extra labels spent): consensus if it holds, else an expert or a coin."""
        counts = Counter(votes)
        top = max(counts.values())
        leaders = [label for label, c in counts.items() if c == top]
        if len(leaders) == 1 and top / len(votes) >= self.agreement - 1e-12:
            return leaders[0], 0
        if self.cfg.expert_accuracy is None:
            return _plurality(votes, self.tie_rng), 0
        self.escalations += 1
        return self.annotators.answer_with(self.cfg.expert_accuracy, truth), 1

    def retrain(self) -> None:
        """Retrain on every resolved item, rank the pending ones, and add a point to the curve."""
        if len(set(self.resolved_labels)) < 2:
            return  # cannot train yet; keep labeling in the current order
        started = time.perf_counter()
        classes, cfg = self.classes, self.cfg
        self.model = self.new_model()
        with warnings.catch_warnings():  # saga on a few dozen texts may stop before converging
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model.fit(list(self.pool_x[self.resolved_items]), classes[self.resolved_labels])
        pending = np.flatnonzero(self.pending)
        pending_texts = list(self.pool_x[pending])
        self.pool_proba = np.zeros((len(self.pool_x), classes.size))  # only pending rows are ever read
        self.pool_proba[pending] = _expand_proba(self.model, pending_texts, classes)
        if cfg.strategy == "random":
            self.ranking = pending[np.argsort(self.import_seq[pending], kind="stable")]
        else:
            positions = strategies.order(
                self.pool_proba[pending],
                cfg.strategy,
                import_seq=self.import_seq[pending],
                embed=strategies.model_embedder(self.model, pending_texts),
                class_counts=np.bincount(self.resolved_labels, minlength=classes.size),
                batch=cfg.retrain_every,
                top_m=cfg.rerank_top,
                rng=self.order_rng,
                weight=self.pool_weight[pending],
            )
            self.ranking = pending[positions]
        self.cursor, self.since_train = 0, 0
        self.retrain_seconds.append(time.perf_counter() - started)
        test_proba = _expand_proba(self.model, self.test_x, classes)
        predicted_idx = test_proba.argmax(axis=1)  # model.predict's choice, ties to the first class
        f1 = f1_score(
            self.test_y, predicted_idx, average="macro", labels=np.arange(classes.size), zero_division=0
        )
        accuracy = accuracy_score(self.test_y, predicted_idx)
        self.curve.append((self.labels_spent, len(self.resolved_items), float(f1), float(accuracy)))

    def new_model(self) -> Any:
        """A fresh model: the caller's, or the bot's default for a project of this pool's size."""
        if self.pipeline_factory is not None:
            return self.pipeline_factory()
        char = wants_char_ngrams(self.cfg.char_ngrams, len(self.pool_x), len(self.resolved_items))
        return _cache_counts(build_default_pipeline(char_ngrams=char), self.ngram_counts)

    def result(self, name: str) -> SimulationResult:
        arr = np.array(self.curve, dtype=float).reshape(-1, 4)
        n_resolved = len(self.resolved_items)
        correct = (
            np.asarray(self.resolved_labels) == self.pool_y[self.resolved_items]
            if n_resolved
            else np.zeros(0, dtype=bool)
        )
        return SimulationResult(
            name=name,
            config=self.cfg,
            labels_spent=arr[:, 0].astype(int),
            n_resolved=arr[:, 1].astype(int),
            macro_f1=arr[:, 2],
            accuracy=arr[:, 3],
            label_accuracy=float(correct.mean()) if n_resolved else float("nan"),
            labels_per_item=self.labels_spent / n_resolved if n_resolved else float("nan"),
            escalated_share=self.escalations / n_resolved if n_resolved else float("nan"),
            n_test=len(self.test_y),
            extra={"retrain_s": float(np.mean(self.retrain_seconds)) if self.retrain_seconds else 0.0},
        )


class _NgramCounts:
    """Each text's n-gram counts under one analyzer, computed once per campaign.

    A campaign refits and rescores the same few thousand texts 30 times; scikit-learn's
    ``CountVectorizer._count_vocab`` analyses every text again each time, one n-gram at a time
    in Python (80 % of a retrain with character n-grams). This returns what it returns, the
    vocabulary and the count matrix, from counts kept per text, so the fitted model and its
    probabilities are the same, entry for entry (a test compares them); only the simulation
    uses it, the bot's model is scikit-learn's own.
    """

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}  # n-gram -> id, in order of first sight
        self.terms: list[str] = []
        self.rows: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # text -> (n-gram ids, counts)
        self.columns: tuple[Any, np.ndarray] | None = None  # (vocabulary, column of each id or -1)

    def row(self, analyze: Callable[[str], list[str]], text: str) -> tuple[np.ndarray, np.ndarray]:
        cached = self.rows.get(text)
        if cached is None:
            counts: dict[int, int] = {}
            for term in analyze(text):
                term_id = self.ids.get(term)
                if term_id is None:
                    term_id = self.ids[term] = len(self.terms)
                    self.terms.append(term)
                counts[term_id] = counts.get(term_id, 0) + 1
            cached = self.rows[text] = (
                np.fromiter(counts.keys(), dtype=np.int64, count=len(counts)),
                np.fromiter(counts.values(), dtype=np.int64, count=len(counts)),
            )
        return cached

    def count_vocab(self, vectorizer: Any, raw_documents: Iterable[str], fixed_vocab: bool) -> Any:
        """``vectorizer._count_vocab(raw_documents, fixed_vocab)``, from the kept counts."""
        analyze = vectorizer.build_analyzer()
        rows = [self.row(analyze, doc) for doc in raw_documents]
        lengths = np.fromiter((r[0].size for r in rows), dtype=np.int64, count=len(rows))
        ids = np.concatenate([r[0] for r in rows]) if rows else np.empty(0, np.int64)
        values = np.concatenate([r[1] for r in rows]) if rows else np.empty(0, np.int64)
        if fixed_vocab:
            vocabulary = vectorizer.vocabulary_
            if self.columns is None or self.columns[0] is not vocabulary:
                lookup = np.full(len(self.terms), -1, dtype=np.int64)
                for term, column in vocabulary.items():
                    term_id = self.ids.get(term)
                    if term_id is not None:
                        lookup[term_id] = column
                self.columns = (vocabulary, lookup)
            lookup = self.columns[1]
            if lookup.size < len(self.terms):  # n-grams first seen in these texts: not in the vocabulary
                lookup = np.concatenate([lookup, np.full(len(self.terms) - lookup.size, -1, np.int64)])
            cols = lookup[ids]
        else:
            # Columns in order of first sight, as scikit-learn numbers them: the order of each row's
            # entries, and so every floating-point sum over them, is then the same as its own.
            seen, first = np.unique(ids, return_index=True)
            if not seen.size:
                raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
            by_sight = np.argsort(first, kind="stable")
            rank = np.empty(seen.size, dtype=np.int64)
            rank[by_sight] = np.arange(seen.size)
            vocabulary = {self.terms[int(seen[i])]: n for n, i in enumerate(by_sight)}
            cols = rank[np.searchsorted(seen, ids)]
        keep = cols >= 0
        doc = np.repeat(np.arange(len(rows)), lengths)[keep]
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(np.bincount(doc, minlength=len(rows)), out=indptr[1:])
        matrix = sp.csr_array(
            (values[keep].astype(np.intc), cols[keep].astype(np.int32), indptr.astype(np.int32)),
            shape=(len(rows), len(vocabulary)),
            dtype=vectorizer.dtype,
        )
        matrix.sort_indices()
        return vocabulary, _align_sparse(matrix)


def _cache_counts(model: Any, caches: dict[tuple[Any, ...], _NgramCounts]) -> Any:
    """Give the default pipeline's TF-IDF steps per-text counts kept across retrains (same results)."""
    features = model.steps[0][1]
    vectorizers = (
        [t for _, t in features.transformer_list] if isinstance(features, FeatureUnion) else [features]
    )
    for vectorizer in vectorizers:
        if type(vectorizer) is not TfidfVectorizer or vectorizer.input != "content":
            continue
        key = (
            vectorizer.analyzer,
            tuple(vectorizer.ngram_range),
            vectorizer.lowercase,
            vectorizer.token_pattern,
        )
        if (
            vectorizer.preprocessor
            or vectorizer.tokenizer
            or vectorizer.stop_words
            or vectorizer.strip_accents
        ):
            continue
        cache = caches.setdefault(key, _NgramCounts())
        vectorizer._count_vocab = partial(cache.count_vocab, vectorizer)
    return model


def _expand_proba(model: Any, texts: list[str], classes: np.ndarray) -> np.ndarray:
    """Model probabilities laid out over all ``classes`` (a model may not know them all yet).

    Scored as the bot scores (``predict_proba_batched``: the Arrow TF-IDF features for ours).
    """
    proba = np.asarray(predict_proba_batched(model, texts), dtype=np.float64)
    out = np.zeros((len(texts), classes.size))
    out[:, np.searchsorted(classes, np.asarray(model.classes_, dtype=object))] = proba
    return out


def labels_to_reach(result: SimulationResult, target_f1: float) -> int | None:
    """Human labels spent when ``result`` first reached ``target_f1`` (None if it never did)."""
    hits = np.flatnonzero(result.macro_f1 >= target_f1)
    return int(result.labels_spent[hits[0]]) if hits.size else None


@dataclass(frozen=True)
class Comparison:
    """How many labels ``candidate`` needed to match ``baseline``'s final macro-F1."""

    baseline: str
    candidate: str
    target_f1: float
    baseline_labels: int
    candidate_labels: int | None  # None: never reached the target

    @property
    def share(self) -> float | None:
        """candidate_labels / baseline_labels; 0.6 means 40 % of the labels saved."""
        if self.candidate_labels is None or not self.baseline_labels:
            return None
        return self.candidate_labels / self.baseline_labels


def compare(candidate: SimulationResult, baseline: SimulationResult) -> Comparison:
    """Labels ``candidate`` spent to first reach the F1 that ``baseline`` had at its end."""
    target = baseline.final_f1
    return Comparison(
        baseline=baseline.name,
        candidate=candidate.name,
        target_f1=target,
        baseline_labels=baseline.total_labels,
        candidate_labels=labels_to_reach(candidate, target),
    )


def mean_result(runs: Sequence[SimulationResult], name: str | None = None) -> SimulationResult:
    """Average several runs (e.g. seeds) into one curve on the first run's label grid.

    Curves are linearly interpolated at the first run's ``labels_spent`` points, cut to
    the range every run covers, so runs with different grids (dynamic overlap) average
    too. Scalar figures are means.
    """
    if not runs:
        raise ValueError("mean_result needs at least one run")
    if any(r.labels_spent.size == 0 for r in runs):
        raise ValueError("every run must have at least one evaluation")
    last = min(int(r.labels_spent[-1]) for r in runs)
    first = max(int(r.labels_spent[0]) for r in runs)
    grid = runs[0].labels_spent[(runs[0].labels_spent >= first) & (runs[0].labels_spent <= last)]

    def avg(attr: str) -> np.ndarray:
        return np.mean([np.interp(grid, r.labels_spent, getattr(r, attr)) for r in runs], axis=0)

    return SimulationResult(
        name=name or runs[0].name,
        config=runs[0].config,
        labels_spent=grid,
        n_resolved=np.rint(avg("n_resolved")).astype(int),
        macro_f1=avg("macro_f1"),
        accuracy=avg("accuracy"),
        label_accuracy=float(np.mean([r.label_accuracy for r in runs])),
        labels_per_item=float(np.mean([r.labels_per_item for r in runs])),
        escalated_share=float(np.mean([r.escalated_share for r in runs])),
        n_test=runs[0].n_test,
        extra={"n_runs": len(runs)},
    )


def plot_learning_curves(
    results: Iterable[SimulationResult] | Mapping[str, SimulationResult],
    path: str | Path,
    *,
    title: str = "Macro-F1 on held-out items vs human labels spent",
    baseline: str | None = None,
) -> Path:
    """Write a PNG of macro-F1 vs human labels, one line per result.

    With ``baseline`` (a result name), a dashed line marks that run's final F1 and a
    dot marks where each other run first reached it. Uses matplotlib's Agg canvas
    directly, so it works headless and does not change the global backend.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    runs = list(results.values()) if isinstance(results, Mapping) else list(results)
    fig = Figure(figsize=(8, 5), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    base = next((r for r in runs if r.name == baseline), None)
    for run in runs:
        (line,) = ax.plot(run.labels_spent, run.macro_f1, label=run.name, linewidth=1.6)
        if base is not None and run is not base:
            reached = labels_to_reach(run, base.final_f1)
            if reached is not None:
                ax.plot([reached], [base.final_f1], "o", color=line.get_color(), markersize=6)
    if base is not None:
        ax.axhline(base.final_f1, color="grey", linestyle="--", linewidth=1, label=f"final F1 of {base.name}")
    ax.set_xlabel("human labels spent")
    ax.set_ylabel("macro-F1 (held-out)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png")
    return out
