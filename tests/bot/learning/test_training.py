"""Training: cross-validation policy and refusals."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import Pipeline, make_pipeline

from bot.learning.training import TrainingError, train


def test_train_reports_cross_validated_scores(small_corpus: pd.DataFrame) -> None:
    result = train(small_corpus["text"], small_corpus["label"])
    assert result.cv_method == "5-fold"
    assert result.cv_note is None
    assert result.cv_accuracy is not None and 0.8 < result.cv_accuracy <= 1.0
    assert result.cv_macro_f1 is not None and 0.8 < result.cv_macro_f1 <= 1.0
    assert result.n_labels == 300
    assert result.classes == ("topic_0", "topic_1", "topic_2")
    assert result.duration_s > 0
    assert result.trained_at.tzinfo is not None
    assert result.pipeline.predict(["some words"]).shape == (1,)


def test_train_is_deterministic(small_corpus: pd.DataFrame) -> None:
    a = train(small_corpus["text"], small_corpus["label"], random_state=3)
    b = train(small_corpus["text"], small_corpus["label"], random_state=3)
    assert a.cv_macro_f1 == pytest.approx(b.cv_macro_f1)


def test_folds_shrink_to_the_smallest_class(small_corpus: pd.DataFrame) -> None:
    texts = [*small_corpus["text"][:40], "rare one", "rare two", "rare three"]
    labels = [*small_corpus["label"][:40], "rare", "rare", "rare"]
    result = train(texts, labels)
    assert result.cv_method == "3-fold"
    assert result.cv_note is not None and "'rare' has 3" in result.cv_note


def test_a_singleton_class_disables_cv_but_still_trains(small_corpus: pd.DataFrame) -> None:
    texts = [*small_corpus["text"][:40], "lonely"]
    labels = [*small_corpus["label"][:40], "rare"]
    result = train(texts, labels)
    assert result.cv_accuracy is None and result.cv_macro_f1 is None
    assert result.cv_method == "none"
    assert result.cv_note is not None and "'rare' has only 1" in result.cv_note
    assert "rare" in result.classes


def test_large_sets_use_a_stratified_holdout(small_corpus: pd.DataFrame) -> None:
    result = train(small_corpus["text"], small_corpus["label"], holdout_above=100, holdout_size=0.2)
    assert result.cv_method == "holdout 60"
    assert result.cv_macro_f1 is not None
    capped = train(small_corpus["text"], small_corpus["label"], holdout_above=100, max_holdout=30)
    assert capped.cv_method == "holdout 30"


def test_cv_can_be_disabled(small_corpus: pd.DataFrame) -> None:
    result = train(small_corpus["text"], small_corpus["label"], cv=1)
    assert result.cv_method == "none" and result.cv_accuracy is None


def test_custom_factory(small_corpus: pd.DataFrame) -> None:
    def factory() -> Pipeline:
        return make_pipeline(CountVectorizer(), MultinomialNB())

    result = train(small_corpus["text"], small_corpus["label"], pipeline_factory=factory, cv=3)
    assert isinstance(result.pipeline.steps[-1][1], MultinomialNB)
    assert result.cv_method == "3-fold"


def test_refusals_explain_what_is_missing(small_corpus: pd.DataFrame) -> None:
    with pytest.raises(TrainingError, match="at least 2 different classes to train; all 20 are 'topic_0'"):
        train(["text"] * 20, ["topic_0"] * 20)
    with pytest.raises(TrainingError, match="at least 10 resolved labels to train, have 4"):
        train(["a", "b", "c", "d"], ["x", "y", "x", "y"])
    with pytest.raises(TrainingError, match="3 texts but 2 labels"):
        train(["a", "b", "c"], ["x", "y"])
    with pytest.raises(TrainingError, match="have 0"):
        train([], [])
