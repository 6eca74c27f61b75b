"""``TfidfVectorizer.transform`` for the default word n-grams, in Arrow kernels instead of Python loops.

scikit-learn tokenises and counts one text at a time in Python (40-80 µs per 30-word text with
word 1-2-grams on the project's machine), which made scoring a million items take longer than the
one-minute target by itself. For the configuration labelbot trains by default (word
analyzer, sklearn's default ``token_pattern``, no custom preprocessor, tokenizer, stop words or
accent stripping, n-grams up to 2) this module computes the same matrix over a whole batch with
pyarrow's vectorised string kernels: 4-5x faster, features and ``predict_proba`` together
(``benchmarks/model_scoring.py``).

The result is the same matrix, entry for entry, as ``vectorizer.transform`` (the tests use
scikit-learn as the oracle). That holds because, for ASCII text, sklearn's token pattern
``(?u)\\b\\w\\w+\\b`` finds exactly the maximal runs of ``[0-9A-Za-z_]`` of length two or more,
and ``str.lower`` is ASCII lower-casing; texts with any non-ASCII character, whose word
characters and case mapping are Unicode's, are counted by scikit-learn itself. Any other
vectorizer configuration is not handled here (:func:`supports` says so) and callers use the
library.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

__all__ = ["supports", "transform"]

DEFAULT_TOKEN_PATTERN = r"(?u)\b\w\w+\b"
_WORD_BYTES = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"
_SPACE = pa.scalar(" ", pa.large_string())


def _byte_table(lowercase: bool) -> np.ndarray:
    """ASCII byte -> itself (lower-cased if asked) for word characters, a space for the rest."""
    table = np.full(256, ord(" "), dtype=np.uint8)
    for byte in _WORD_BYTES:
        table[byte] = ord(chr(byte).lower()) if lowercase else byte
    return table


_TABLES = {True: _byte_table(True), False: _byte_table(False)}


def supports(vectorizer: Any) -> bool:
    """Whether :func:`transform` reproduces this fitted vectorizer exactly."""
    return (
        type(vectorizer) is TfidfVectorizer
        and hasattr(vectorizer, "vocabulary_")
        and hasattr(vectorizer, "_tfidf")
        and vectorizer.input == "content"
        and vectorizer.analyzer == "word"
        and vectorizer.preprocessor is None
        and vectorizer.tokenizer is None
        and vectorizer.stop_words is None
        and vectorizer.strip_accents is None
        and vectorizer.token_pattern == DEFAULT_TOKEN_PATTERN
        and tuple(vectorizer.ngram_range) in {(1, 1), (1, 2), (2, 2)}
    )


class _Vocabulary:
    """The fitted vocabulary as an Arrow array (for ``index_in``) and its column numbers."""

    def __init__(self, vocabulary: dict[str, int]) -> None:
        self.source = vocabulary
        self.terms = pa.array(list(vocabulary.keys()), pa.large_string())
        self.columns = np.fromiter(vocabulary.values(), dtype=np.int64, count=len(vocabulary))
        self.size = len(vocabulary)

    def columns_of(self, strings: pa.Array) -> np.ndarray:
        """Column of each string, -1 where the vocabulary does not have it."""
        found = pc.index_in(strings, value_set=self.terms).fill_null(-1)
        positions = found.to_numpy(zero_copy_only=False)
        return np.where(positions >= 0, self.columns[positions], -1)


_VOCABULARIES: weakref.WeakKeyDictionary[Any, _Vocabulary] = weakref.WeakKeyDictionary()


def _vocabulary(vectorizer: Any) -> _Vocabulary:
    """The vectorizer's vocabulary as Arrow data, built once per fitted vocabulary (~30 ms)."""
    cached = _VOCABULARIES.get(vectorizer)
    if cached is None or cached.source is not vectorizer.vocabulary_:
        cached = _VOCABULARIES[vectorizer] = _Vocabulary(vectorizer.vocabulary_)
    return cached


def _ascii_counts(vectorizer: Any, vocabulary: _Vocabulary, texts: pa.LargeStringArray) -> Any:
    """Term counts of ASCII-only texts: the matrix ``CountVectorizer.transform`` would give."""
    n = len(texts)
    offsets, data = texts.buffers()[1], texts.buffers()[2]
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.empty(0, np.uint8)
    spaced = pa.LargeStringArray.from_buffers(
        n, offsets, pa.py_buffer(_TABLES[bool(vectorizer.lowercase)][raw]), offset=texts.offset
    )
    words = pc.ascii_split_whitespace(spaced)
    tokens = words.flatten()
    doc = pc.list_parent_indices(words).to_numpy()
    keep = pc.binary_length(tokens).to_numpy() >= 2  # the pattern needs two word characters
    tokens = tokens.filter(pa.array(keep))
    doc = doc[keep]

    min_n, max_n = vectorizer.ngram_range
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    if min_n == 1:
        rows.append(doc)
        cols.append(vocabulary.columns_of(tokens))
    if max_n == 2 and len(tokens) > 1:
        pairs = vocabulary.columns_of(pc.binary_join_element_wise(tokens[:-1], tokens[1:], _SPACE))
        pairs[doc[1:] != doc[:-1]] = -1  # a pair across two texts is not a bigram
        rows.append(doc[:-1])
        cols.append(pairs)
    row = np.concatenate(rows) if rows else np.empty(0, np.int64)
    col = np.concatenate(cols) if cols else np.empty(0, np.int64)
    hit = col >= 0
    row, col = row[hit], col[hit]
    order = np.argsort(row, kind="stable")
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(row, minlength=n), out=indptr[1:])
    index_type = np.int32 if len(col) <= np.iinfo(np.int32).max else np.int64
    counts = sp.csr_matrix(
        (np.ones(len(col), dtype=vectorizer.dtype), col[order].astype(index_type), indptr.astype(index_type)),
        shape=(n, vocabulary.size),
    )
    counts.sum_duplicates()  # sorts each row's columns and adds repeats, as sklearn's counter does
    if vectorizer.binary:
        counts.data.fill(1)
    return counts


def transform(vectorizer: Any, texts: Sequence[str]) -> Any:
    """``vectorizer.transform(texts)``, faster; ``vectorizer`` must pass :func:`supports`."""
    if not supports(vectorizer):
        raise ValueError("this vectorizer's configuration is not one fast_tfidf reproduces")
    if not all(type(text) is str for text in texts):  # bytes, NaN...: sklearn decodes or refuses
        return vectorizer.transform(texts)
    vocabulary = _vocabulary(vectorizer)
    array = pa.array(texts, pa.large_string())
    ascii_mask = pc.string_is_ascii(array).to_numpy(zero_copy_only=False)
    if ascii_mask.all():
        counts = _ascii_counts(vectorizer, vocabulary, array)
    else:
        fast = np.flatnonzero(ascii_mask)
        slow = np.flatnonzero(~ascii_mask)
        fast_counts = _ascii_counts(vectorizer, vocabulary, array.take(pa.array(fast)))
        slow_counts = CountVectorizer.transform(vectorizer, [texts[int(i)] for i in slow])
        stacked = sp.vstack([fast_counts, slow_counts], format="csr")
        back = np.empty(len(texts), dtype=np.int64)
        back[np.concatenate([fast, slow])] = np.arange(len(texts))
        counts = stacked[back]
        counts.sort_indices()
    return vectorizer._tfidf.transform(counts, copy=False)
