"""Machine-learning core of labelbot: models, rules, sampling, training and simulation.

Pure functions over texts, labels and probability arrays; nothing here knows about
Slack or the database (the dynamic overlap rule these simulations replay is ``bot.overlap``).
Submodules:

* :mod:`bot.learning.pipeline` — the default TF-IDF + logistic regression pipeline,
  loading users' own models, saving/loading ours.
* :mod:`bot.learning.fast_tfidf` — the default TF-IDF features in Arrow kernels, for scoring.
* :mod:`bot.learning.rules` — keyword/regex pre-labeling for cold start.
* :mod:`bot.learning.sampling` — confidence, predicted label and priority per item.
* :mod:`bot.learning.strategies` — active-learning strategies as an ordering of the ranking.
* :mod:`bot.learning.training` — training with cross-validated scores.
* :mod:`bot.learning.corpora` — the fortunes corpus and synthetic data sets.
* :mod:`bot.learning.simulate` — replaying labeled data to measure labels saved.
* :mod:`bot.learning.replay` — ``labelbot simulate``: that replay on a team's file or project.
"""

from bot.learning.pipeline import (
    ModelLoadError,
    SavedModel,
    build_default_pipeline,
    load_model,
    load_user_pipeline,
    predict_proba_batched,
    save_model,
)
from bot.learning.rules import RuleError, RulePrelabeler, parse_rules
from bot.learning.sampling import STRATEGIES, Scores, explore_mask, priority, rank, score, select_batch
from bot.learning.training import TrainingError, TrainResult, train

__all__ = [
    "STRATEGIES",
    "ModelLoadError",
    "RuleError",
    "RulePrelabeler",
    "SavedModel",
    "Scores",
    "TrainResult",
    "TrainingError",
    "build_default_pipeline",
    "explore_mask",
    "load_model",
    "load_user_pipeline",
    "parse_rules",
    "predict_proba_batched",
    "priority",
    "rank",
    "save_model",
    "score",
    "select_batch",
    "train",
]
