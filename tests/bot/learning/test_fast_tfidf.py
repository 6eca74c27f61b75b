"""The Arrow TF-IDF transform against scikit-learn's own, which is the oracle."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from bot.learning import fast_tfidf
from bot.learning.pipeline import build_default_pipeline, predict_proba_batched

# Words that recur (so the vocabulary has them), punctuation, digits, underscores, one-letter
# tokens (never tokens), mixed case, and a little Unicode (those texts go through sklearn).
WORDS = ["alpha", "Beta", "GAMMA", "d", "x1", "a_b", "42", "_", "émile", "naïve", "ΣΟΦΙΑ", "ok"]
SEPARATORS = [" ", "  ", ", ", ".", "\n", "\t", "-", "'", "!?", "\u00a0", ""]
CORPUS = [
    "alpha Beta gamma, alpha beta!",
    "GAMMA d x1 a_b 42 alpha",
    "beta-gamma alpha.beta a_b a_b",
    "naïve émile alpha ΣΟΦΙΑ ok",
    "ok ok alpha x1 42 beta",
    "d d d alpha beta gamma",
]

texts_strategy = st.lists(
    st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), max_size=12).map(
        lambda parts: "".join(w + s for w, s in parts)
    )
    | st.text(max_size=40),
    min_size=1,
    max_size=12,
)


def fitted(**kwargs: object) -> TfidfVectorizer:
    return TfidfVectorizer(**kwargs).fit(CORPUS)  # type: ignore[arg-type]


def assert_same(vectorizer: TfidfVectorizer, texts: list[str]) -> None:
    expected = vectorizer.transform(texts)
    got = fast_tfidf.transform(vectorizer, texts)
    assert got.shape == expected.shape
    assert got.dtype == expected.dtype
    assert (got != expected).nnz == 0
    assert got.has_sorted_indices


@settings(max_examples=60, deadline=None)
@given(texts=texts_strategy)
@example(texts=["gamma d x1", "alpha", "beta gamma"])  # a one-letter word; a pair across two texts
@example(texts=["", "!!", "ALPHA_beta", "x1,42 a_b"])
def test_default_word_bigrams_match_sklearn(texts: list[str]) -> None:
    assert_same(fitted(ngram_range=(1, 2), sublinear_tf=True, dtype=np.float32), texts)


@settings(max_examples=30, deadline=None)
@given(
    texts=texts_strategy,
    ngram_range=st.sampled_from([(1, 1), (1, 2), (2, 2)]),
    lowercase=st.booleans(),
    binary=st.booleans(),
    norm=st.sampled_from(["l2", "l1", None]),
)
def test_supported_options_match_sklearn(
    texts: list[str], ngram_range: tuple[int, int], lowercase: bool, binary: bool, norm: str | None
) -> None:
    vectorizer = fitted(ngram_range=ngram_range, lowercase=lowercase, binary=binary, norm=norm)
    assert_same(vectorizer, texts)


def test_texts_that_are_not_strings_get_sklearn_behaviour() -> None:
    vectorizer = fitted(ngram_range=(1, 2))
    assert_same(vectorizer, [b"alpha beta".decode(), "gamma"])
    with pytest.raises(ValueError, match=r"np\.nan is an invalid document"):
        fast_tfidf.transform(vectorizer, ["alpha", np.nan])  # type: ignore[list-item]


def test_other_configurations_are_left_to_sklearn() -> None:
    assert fast_tfidf.supports(fitted(ngram_range=(1, 2)))
    assert not fast_tfidf.supports(TfidfVectorizer())  # not fitted
    for kwargs in (
        {"ngram_range": (1, 3)},
        {"analyzer": "char_wb"},
        {"stop_words": ["alpha"]},
        {"token_pattern": r"\S+"},
        {"strip_accents": "unicode"},
        {"preprocessor": str.upper},
    ):
        assert not fast_tfidf.supports(fitted(**kwargs)), kwargs
    with pytest.raises(ValueError, match="not one fast_tfidf reproduces"):
        fast_tfidf.transform(fitted(analyzer="char"), ["alpha"])


def test_vocabulary_is_rebuilt_after_a_refit() -> None:
    vectorizer = fitted()
    before = fast_tfidf.transform(vectorizer, ["alpha zulu"])
    vectorizer.fit(["zulu yankee", "zulu xray"])
    assert_same(vectorizer, ["alpha zulu"])
    assert before.shape[1] != vectorizer.transform(["alpha zulu"]).shape[1]


def test_batched_prediction_uses_it_and_matches_the_pipeline(small_corpus) -> None:  # type: ignore[no-untyped-def]
    texts = list(small_corpus["text"])
    model = build_default_pipeline().fit(texts, list(small_corpus["label"]))
    assert fast_tfidf.supports(model.steps[0][1])
    scored = [*texts[:120], "Unicode: café naïve " + texts[0], ""]
    np.testing.assert_array_equal(
        predict_proba_batched(model, scored, batch_size=50),
        np.asarray(model.predict_proba(scored), dtype=np.float32),
    )


def test_a_pipeline_with_another_first_step_is_scored_by_sklearn(small_corpus) -> None:  # type: ignore[no-untyped-def]
    texts = list(small_corpus["text"])
    model = Pipeline([("tfidf", TfidfVectorizer(analyzer="char_wb")), ("clf", LogisticRegression())])
    model.fit(texts, list(small_corpus["label"]))
    np.testing.assert_array_equal(
        predict_proba_batched(model, texts[:30]),
        np.asarray(model.predict_proba(texts[:30]), dtype=np.float32),
    )
