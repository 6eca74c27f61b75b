"""The digest's chart: eight weeks of agreement and throughput, and a confusion heatmap (PNG)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: no display on a server

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

__all__ = ["digest_chart"]


def digest_chart(weeks: Sequence[dict[str, Any]], confusion: pd.DataFrame, title: str) -> bytes:
    """``weeks``: oldest first, each with ``label`` (e.g. "11-02"), ``alpha`` (or None) and ``labels``."""
    fig, (trend, heat) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    x = np.arange(len(weeks))
    counts = [w.get("labels") or 0 for w in weeks]
    trend.bar(x, counts, color="#c7d7ee", label="labels")
    trend.set_ylabel("labels per week")
    trend.set_xticks(x, [w["label"] for w in weeks], rotation=45, ha="right", fontsize=8)
    agreement = trend.twinx()
    alphas = [np.nan if w.get("alpha") is None else w["alpha"] for w in weeks]
    agreement.plot(x, alphas, color="#1f5fa8", marker="o", label="Krippendorff's alpha")
    agreement.set_ylim(min(0.0, np.nanmin(alphas) if not np.all(np.isnan(alphas)) else 0.0), 1.0)
    agreement.set_ylabel("Krippendorff's alpha")
    trend.set_title("Throughput and agreement, 8 weeks")
    if confusion.empty:
        heat.text(0.5, 0.5, "no final labels yet", ha="center", va="center")
        heat.set_axis_off()
    else:
        matrix = confusion.to_numpy(dtype=float)
        rows = matrix.sum(axis=1, keepdims=True)
        share = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
        image = heat.imshow(share, cmap="Blues", vmin=0, vmax=1)
        heat.set_xticks(
            range(len(confusion.columns)),
            [str(c) for c in confusion.columns],
            rotation=45,
            ha="right",
            fontsize=8,
        )
        heat.set_yticks(range(len(confusion.index)), [str(c) for c in confusion.index], fontsize=8)
        heat.set_xlabel("final label")
        heat.set_ylabel("annotator label")
        heat.set_title("Confusion (share of each annotator label)")
        for (i, j), value in np.ndenumerate(matrix):
            if value:
                heat.text(
                    j,
                    i,
                    int(value),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if share[i, j] > 0.6 else "black",
                )
        fig.colorbar(image, ax=heat, fraction=0.046)
    fig.suptitle(title)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()
