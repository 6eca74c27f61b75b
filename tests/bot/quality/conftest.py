"""Published reference data sets, as label frames in labelbot's column contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: four
# observers, twelve units, missing values (None). Nominal alpha = 0.743.
KRIPPENDORFF_2011 = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
}

# Wikipedia, "Fleiss' kappa", worked example: 10 subjects × 5 categories, 14 raters each
# (counts per category). P̄ = 0.378, P_e = 0.213, kappa = 0.210.
FLEISS_WIKIPEDIA = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]

# Fleiss (1971), Table 1: 30 patients, 6 psychiatrists each, diagnoses 1 depression,
# 2 personality disorder, 3 schizophrenia, 4 neurosis, 5 other. Kappa = 0.430.
FLEISS_1971 = [
    [4, 4, 4, 4, 4, 4],
    [2, 2, 2, 5, 5, 5],
    [2, 3, 3, 3, 3, 5],
    [5, 5, 5, 5, 5, 5],
    [2, 2, 2, 4, 4, 4],
    [1, 1, 3, 3, 3, 3],
    [3, 3, 3, 3, 5, 5],
    [1, 1, 3, 3, 3, 4],
    [1, 1, 4, 4, 4, 4],
    [5, 5, 5, 5, 5, 5],
    [1, 4, 4, 4, 4, 4],
    [1, 2, 4, 4, 4, 4],
    [2, 2, 2, 3, 3, 3],
    [1, 4, 4, 4, 4, 4],
    [2, 2, 4, 4, 4, 5],
    [3, 3, 3, 3, 3, 5],
    [1, 1, 1, 4, 5, 5],
    [1, 1, 1, 1, 1, 2],
    [2, 2, 4, 4, 4, 4],
    [1, 3, 3, 5, 5, 5],
    [5, 5, 5, 5, 5, 5],
    [2, 4, 4, 4, 4, 4],
    [2, 2, 4, 5, 5, 5],
    [1, 1, 4, 4, 4, 4],
    [1, 4, 4, 4, 4, 5],
    [2, 2, 2, 2, 2, 4],
    [1, 1, 1, 1, 5, 5],
    [2, 2, 4, 4, 4, 4],
    [1, 3, 3, 3, 3, 3],
    [5, 5, 5, 5, 5, 5],
]

# Dawid & Skene (1979), Table 1: 45 patients, 5 clinicians; clinician 1 rated each
# patient three times. Values are the ratings (classes 1-4).
DAWID_SKENE_1979 = {
    1: {1: [1, 1, 1], 2: [1], 3: [1], 4: [1], 5: [1]},
    2: {1: [3, 3, 3], 2: [4], 3: [3], 4: [3], 5: [4]},
    3: {1: [1, 1, 2], 2: [2], 3: [1], 4: [2], 5: [2]},
    4: {1: [2, 2, 2], 2: [3], 3: [1], 4: [2], 5: [1]},
    5: {1: [2, 2, 2], 2: [3], 3: [2], 4: [2], 5: [2]},
    6: {1: [2, 2, 2], 2: [3], 3: [3], 4: [2], 5: [2]},
    7: {1: [1, 2, 2], 2: [2], 3: [1], 4: [1], 5: [1]},
    8: {1: [3, 3, 3], 2: [3], 3: [4], 4: [3], 5: [3]},
    9: {1: [2, 2, 2], 2: [2], 3: [2], 4: [2], 5: [3]},
    10: {1: [2, 3, 2], 2: [2], 3: [2], 4: [2], 5: [3]},
    11: {1: [4, 4, 4], 2: [4], 3: [4], 4: [4], 5: [4]},
    12: {1: [2, 2, 2], 2: [3], 3: [3], 4: [4], 5: [3]},
    13: {1: [1, 1, 1], 2: [1], 3: [1], 4: [1], 5: [1]},
    14: {1: [2, 2, 2], 2: [3], 3: [2], 4: [1], 5: [2]},
    15: {1: [1, 2, 1], 2: [1], 3: [1], 4: [1], 5: [1]},
    16: {1: [1, 1, 1], 2: [2], 3: [1], 4: [1], 5: [1]},
    17: {1: [1, 1, 1], 2: [1], 3: [1], 4: [1], 5: [1]},
    18: {1: [1, 1, 1], 2: [1], 3: [1], 4: [1], 5: [1]},
    19: {1: [2, 2, 2], 2: [2], 3: [2], 4: [2], 5: [1]},
    20: {1: [2, 2, 2], 2: [1], 3: [3], 4: [2], 5: [2]},
    21: {1: [2, 2, 2], 2: [2], 3: [2], 4: [2], 5: [2]},
    22: {1: [2, 2, 2], 2: [2], 3: [2], 4: [2], 5: [1]},
    23: {1: [2, 2, 2], 2: [3], 3: [2], 4: [2], 5: [2]},
    24: {1: [2, 2, 1], 2: [2], 3: [2], 4: [2], 5: [2]},
    25: {1: [1, 1, 1], 2: [1], 3: [1], 4: [1], 5: [1]},
    26: {1: [1, 1, 1], 2: [1], 3: [1], 4: [1], 5: [1]},
    27: {1: [2, 3, 2], 2: [2], 3: [2], 4: [2], 5: [2]},
    28: {1: [1, 1, 1], 2: [1], 3: [1], 4: [1], 5: [1]},
    29: {1: [1, 1, 1], 2: [1], 3: [1], 4: [1], 5: [1]},
    30: {1: [1, 1, 2], 2: [1], 3: [1], 4: [2], 5: [1]},
    31: {1: [1, 1, 1], 2: [1], 3: [1], 4: [1], 5: [1]},
    32: {1: [3, 3, 3], 2: [3], 3: [2], 4: [3], 5: [3]},
    33: {1: [1, 1, 1], 2: [1], 3: [1], 4: [1], 5: [1]},
    34: {1: [2, 2, 2], 2: [2], 3: [2], 4: [2], 5: [2]},
    35: {1: [2, 2, 2], 2: [3], 3: [2], 4: [3], 5: [2]},
    36: {1: [4, 3, 3], 2: [4], 3: [3], 4: [4], 5: [3]},
    37: {1: [2, 2, 1], 2: [2], 3: [2], 4: [3], 5: [2]},
    38: {1: [2, 3, 2], 2: [3], 3: [2], 4: [3], 5: [3]},
    39: {1: [3, 3, 3], 2: [3], 3: [4], 4: [3], 5: [2]},
    40: {1: [1, 1, 1], 2: [1], 3: [1], 4: [1], 5: [1]},
    41: {1: [1, 1, 1], 2: [1], 3: [1], 4: [1], 5: [1]},
    42: {1: [1, 2, 1], 2: [2], 3: [1], 4: [1], 5: [1]},
    43: {1: [2, 3, 2], 2: [2], 3: [2], 4: [2], 5: [2]},
    44: {1: [1, 2, 1], 2: [1], 3: [1], 4: [1], 5: [1]},
    45: {1: [2, 2, 2], 2: [2], 3: [2], 4: [2], 5: [2]},
}


def frame_from_counts(counts: list[list[int]]) -> pd.DataFrame:
    """Item × category counts → one row per rating (raters numbered within each item)."""
    rows = []
    for item, row in enumerate(counts):
        rater = 0
        for category, n in enumerate(row):
            for _ in range(n):
                rows.append((item, f"r{rater:02d}", f"c{category}"))
                rater += 1
    return pd.DataFrame(rows, columns=["item_id", "user_id", "label"])


@pytest.fixture
def krippendorff_2011() -> pd.DataFrame:
    rows = [
        (unit, observer, str(value))
        for observer, values in KRIPPENDORFF_2011.items()
        for unit, value in enumerate(values, start=1)
        if value is not None
    ]
    return pd.DataFrame(rows, columns=["item_id", "user_id", "label"])


@pytest.fixture
def fleiss_wikipedia() -> pd.DataFrame:
    return frame_from_counts(FLEISS_WIKIPEDIA)


@pytest.fixture
def fleiss_1971() -> pd.DataFrame:
    rows = [
        (patient, f"psychiatrist{rater}", str(diagnosis))
        for patient, diagnoses in enumerate(FLEISS_1971, start=1)
        for rater, diagnosis in enumerate(diagnoses, start=1)
    ]
    return pd.DataFrame(rows, columns=["item_id", "user_id", "label"])


@pytest.fixture
def fleiss_1971_table() -> np.ndarray:
    """The same data as statsmodels' subject × category count table."""
    table = np.zeros((len(FLEISS_1971), 5), dtype=int)
    for i, diagnoses in enumerate(FLEISS_1971):
        for diagnosis in diagnoses:
            table[i, diagnosis - 1] += 1
    return table


@pytest.fixture
def cohen_wikipedia() -> pd.DataFrame:
    """Wikipedia, "Cohen's kappa", first example: 50 grant proposals read by A and B.

    Both yes 20, A yes / B no 5, A no / B yes 10, both no 15: p_o = 0.7, p_e = 0.5, kappa = 0.4.
    """
    pairs = [("yes", "yes")] * 20 + [("yes", "no")] * 5 + [("no", "yes")] * 10 + [("no", "no")] * 15
    rows = []
    for proposal, (a, b) in enumerate(pairs):
        rows += [(proposal, "A", a), (proposal, "B", b)]
    return pd.DataFrame(rows, columns=["item_id", "user_id", "label"])


def dawid_skene_1979_frame() -> pd.DataFrame:
    """Dawid–Skene 1979 patients; clinician 1's three ratings become annotators 1a, 1b, 1c.

    (The contract counts one current label per annotator and item, so the repeated
    ratings cannot share an annotator id.)
    """
    rows = []
    for patient, by_clinician in DAWID_SKENE_1979.items():
        for clinician, ratings in by_clinician.items():
            for n, rating in enumerate(ratings):
                user = f"{clinician}{'abc'[n]}" if len(ratings) > 1 else str(clinician)
                rows.append((f"p{patient:02d}", user, str(rating)))
    return pd.DataFrame(rows, columns=["item_id", "user_id", "label"])


@pytest.fixture
def dawid_skene_1979() -> pd.DataFrame:
    return dawid_skene_1979_frame()
