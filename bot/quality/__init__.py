"""Label-quality metrics: agreement, accuracy, intervals and Dawid–Skene consensus.

Pure functions over labelbot's label export (see :mod:`bot.quality.data` for the column
contract); scalar results are :class:`Metric` values that carry a reason when undefined.
"""

from bot.quality.data import (
    FINAL_LABEL,
    GOLD_LABEL,
    ITEM_ID,
    LABEL,
    USER_ID,
    LabelData,
    Metric,
    current_labels,
)
from bot.quality.dawid_skene import DawidSkene
from bot.quality.intervals import Interval, RateEstimate, error_rate_estimate, wilson_bounds, wilson_interval
from bot.quality.metrics import (
    DEFAULT_MIN_OVERLAP,
    MIN_GOLD_ANSWERS,
    annotator_confusions,
    annotator_mean_kappa,
    annotator_stats,
    confused_pairs,
    confusion_matrix,
    fleiss_kappa,
    gold_accuracy,
    gold_counts,
    krippendorff_alpha,
    mean_cohen_kappa,
    pairwise_cohen_kappa,
)
from bot.quality.summary import QualitySummary, summarize_quality

__all__ = [
    "DEFAULT_MIN_OVERLAP",
    "FINAL_LABEL",
    "GOLD_LABEL",
    "ITEM_ID",
    "LABEL",
    "MIN_GOLD_ANSWERS",
    "USER_ID",
    "DawidSkene",
    "Interval",
    "LabelData",
    "Metric",
    "QualitySummary",
    "RateEstimate",
    "annotator_confusions",
    "annotator_mean_kappa",
    "annotator_stats",
    "confused_pairs",
    "confusion_matrix",
    "current_labels",
    "error_rate_estimate",
    "fleiss_kappa",
    "gold_accuracy",
    "gold_counts",
    "krippendorff_alpha",
    "mean_cohen_kappa",
    "pairwise_cohen_kappa",
    "summarize_quality",
    "wilson_bounds",
    "wilson_interval",
]
