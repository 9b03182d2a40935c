"""Reading a section: its prose sentences, their TextRank scores, its summary, its words."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import networkx as nx
import numpy as np
import numpy.typing as npt
from sklearn.feature_extraction.text import TfidfVectorizer

from ultudy.study.text import (
    LIST_ITEM_RE,
    content_tokens,
    is_prose,
    normalize,
    paragraphs,
    singular,
    split_paragraph,
    split_sentences,
    tokenize,
)

_HEADING_RE = re.compile(r"^(?:\d+(?:\.\d+)*\.?\s+)?([A-Za-z][A-Za-z\- ]{2,60})$")


@dataclass(frozen=True, kw_only=True)
class Analysis:
    """A section's prose sentences (in reading order), their TextRank scores, its headings."""

    title: str
    sentences: tuple[str, ...]
    listed: frozenset[int]
    ranks: tuple[float, ...]
    similarity: npt.NDArray[np.float64]
    headings: tuple[str, ...]
    word_count: int


def analyse(title: str, text: str) -> Analysis:
    """Sentences of prose (list items without their "1." count; summaries skip them)."""
    sentences: list[str] = []
    listed: set[int] = set()
    headings: list[str] = []
    for block in paragraphs(normalize(text)):
        heading = _HEADING_RE.match(block)
        if heading and len(block.split()) <= 6:
            headings.append(heading.group(1).strip())
            continue
        label = LIST_ITEM_RE.match(block)
        if label:
            listed.add(len(sentences))
        prose = [s for s in split_paragraph(block[label.end() if label else 0 :]) if is_prose(s)]
        sentences.extend(prose)
    similarity = _similarity(sentences)
    return Analysis(
        title=title,
        sentences=tuple(sentences),
        listed=frozenset(index for index in listed if index < len(sentences)),
        ranks=tuple(_textrank(similarity)),
        similarity=similarity,
        headings=tuple(headings),
        word_count=len(text.split()),
    )


def _similarity(sentences: Sequence[str]) -> npt.NDArray[np.float64]:
    """Cosine similarity of the sentences' TF-IDF vectors (zero diagonal)."""
    size = len(sentences)
    vectorizer = TfidfVectorizer(tokenizer=content_tokens, lowercase=False, token_pattern=None)
    try:
        matrix = vectorizer.fit_transform(sentences)
    except ValueError:  # No sentences, or no content words at all.
        return np.zeros((size, size))
    similarity = np.asarray((matrix @ matrix.T).todense(), dtype=np.float64)
    np.fill_diagonal(similarity, 0.0)
    return similarity


def _textrank(similarity: npt.NDArray[np.float64]) -> list[float]:
    """PageRank over the similarity graph, nudged towards the opening sentences."""
    size = similarity.shape[0]
    if size < 3 or not similarity.any():
        return [1.0 / (index + 1) for index in range(size)]
    graph = nx.from_numpy_array(similarity)
    lead = {index: 1.0 / (index + 1) ** 0.5 for index in range(size)}
    try:
        scores = nx.pagerank(graph, weight="weight", personalization=lead, max_iter=200)
    except nx.PowerIterationFailedConvergence:
        scores = dict(graph.degree(weight="weight"))
    return [float(scores[index]) for index in range(size)]


def _summary_size(count: int) -> int:
    return 3 if count <= 15 else 4 if count <= 30 else 5


def summary(analysis: Analysis, text: str) -> str:
    """The best-ranked sentences, in reading order, skipping near-repeats of chosen ones."""
    sentences = analysis.sentences
    if not sentences:
        return _fallback_summary(analysis.title, text)
    pool = [
        i
        for i, sentence in enumerate(sentences)
        if 8 <= len(sentence.split()) <= 45 and i not in analysis.listed
    ]
    pool = pool or list(range(len(sentences)))
    chosen: list[int] = []
    for index in sorted(pool, key=lambda i: (-analysis.ranks[i], i)):
        if all(analysis.similarity[index, other] < 0.4 for other in chosen):
            chosen.append(index)
        if len(chosen) == _summary_size(len(sentences)):
            break
    return " ".join(sentences[i] for i in sorted(chosen))


def _letter_share(text: str) -> float:
    visible = [char for char in text if not char.isspace()]
    return sum(char.isalpha() for char in visible) / max(len(visible), 1)


def _fallback_summary(title: str, text: str) -> str:
    """For text without a single prose sentence: its first wordy lines, else a plain note."""
    wordy = [
        s
        for s in split_sentences(text)
        if _letter_share(s) >= 0.7 and len(s.split()) > 1 and ". . ." not in s
    ]
    words = " ".join(wordy).split()
    if words:
        return " ".join(words[:60]) + (" …" if len(words) > 60 else "")
    return f"The section “{title}” has no text to summarise."


@lru_cache(maxsize=512)
def stems_of(text: str) -> frozenset[str]:
    return frozenset(singular(token) for token in content_tokens(text))


_ARTICLES = frozenset("a an the its their his her our your my each every another".split())


@lru_cache(maxsize=512)
def noun_stems(text: str) -> frozenset[str]:
    """Words seen right after a determiner, or after one adjective: "a (special) file"."""
    tokens = tokenize(text)
    found: set[str] = set()
    for index, token in enumerate(tokens[:-2]):
        if token in _ARTICLES:
            following = tokens[index + 1]
            found.add(singular(following))
            if re.search(r"(?:al|ic|ive|ous|ful|ent|ant|ary|ble|ed|ing|ar)$", following):
                found.add(singular(tokens[index + 2]))
    return frozenset(found)
