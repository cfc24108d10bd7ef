"""Text features: a tokenizer, a vocabulary from the training split, token ids and TF-IDF."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

PAD, UNK = "<pad>", "<unk>"
PAD_INDEX, UNK_INDEX = 0, 1
_TOKEN = re.compile(r"[\w']+|[^\w\s]")


def replaced(text: str, replacements: dict[str, str]) -> str:
    """text with each key of replacements replaced by its value, in order: a dataset's read.replace (IMDB's
    "<br />"), applied when it is read and again by its logged model to the texts it is given."""
    for old, new in replacements.items():
        text = text.replace(old, new)
    return text


def tokenize(text: str) -> list[str]:
    """Lower-cased words (apostrophes kept) and single punctuation marks."""
    return _TOKEN.findall(text.lower())


def build_vocab(token_lists: Iterable[list[str]], min_count: int, max_size: int) -> list[str]:
    """Padding and unknown tokens, then words seen at least min_count times, most frequent first."""
    counts = Counter(token for tokens in token_lists for token in tokens)
    kept = sorted((word for word, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w))
    return [PAD, UNK, *kept[: max_size - 2]]


def encode(tokens: list[str], index: dict[str, int], max_tokens: int) -> np.ndarray:
    """Token ids, truncated to max_tokens; an empty text becomes one <unk> so it has a length."""
    ids = [index.get(token, UNK_INDEX) for token in tokens[:max_tokens]]
    return np.asarray(ids or [UNK_INDEX], dtype=np.int64)


def _tfidf(ngram_max: int, **options: Any) -> TfidfVectorizer:
    """TF-IDF of word n-grams (sublinear term frequency) on this module's tokens."""
    return TfidfVectorizer(tokenizer=tokenize, lowercase=False, token_pattern=None, ngram_range=(1, ngram_max),
                           sublinear_tf=True, dtype=np.float32, **options)


def fit_tfidf(train_texts: list[str], ngram_max: int, min_df: int, max_features: int) -> TfidfVectorizer:
    """TF-IDF of word n-grams fitted on the training texts only."""
    return _tfidf(ngram_max, min_df=min_df, max_features=max_features).fit(train_texts)


def tfidf_state(vectorizer: TfidfVectorizer) -> dict[str, Any]:
    """A fitted vectoriser as plain data (its n-grams in column order and their idf), for restore_tfidf."""
    return {"ngram_max": vectorizer.ngram_range[1], "terms": vectorizer.get_feature_names_out().tolist(),
            "idf": vectorizer.idf_.tolist()}


def restore_tfidf(state: dict[str, Any]) -> TfidfVectorizer:
    """The vectoriser that tfidf_state described: the same columns and weights, no pickle."""
    vectorizer = _tfidf(state["ngram_max"], vocabulary={term: i for i, term in enumerate(state["terms"])})
    vectorizer.idf_ = np.asarray(state["idf"])
    return vectorizer


def tfidf_matrix(vectorizer: TfidfVectorizer, texts: list[str]) -> sparse.csr_matrix:
    """Rows of TF-IDF weights for texts, with the vocabulary fitted on train."""
    return sparse.csr_matrix(vectorizer.transform(texts), dtype=np.float32)


def text_features(texts: list[str], index: dict[str, int], max_tokens: int,
                  vectorizer: TfidfVectorizer) -> tuple[list[np.ndarray], sparse.csr_matrix]:
    """What the models read of texts: token ids for the recurrent models, TF-IDF rows for the MLP. Training and
    a logged model's predictions both call this."""
    return [encode(tokenize(t), index, max_tokens) for t in texts], tfidf_matrix(vectorizer, texts)
