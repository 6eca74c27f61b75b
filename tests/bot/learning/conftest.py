"""Small labeled data shared by the learning tests."""

from __future__ import annotations

import pandas as pd
import pytest

from bot.learning.corpora import make_synthetic


@pytest.fixture(scope="session")
def small_corpus() -> pd.DataFrame:
    """300 synthetic texts over 3 classes; a linear model learns them well."""
    return make_synthetic(300, 3, seed=0)
