"""Text the study engines read: one word lexicon, cleaning, paragraphs and sentences."""

from ultudy.study.text.clean import drop_running_headers, is_running_header, normalize
from ultudy.study.text.sentences import is_prose, paragraphs, split_paragraph, split_sentences
from ultudy.study.text.words import (
    ABBREVIATIONS,
    GRADER_STOPWORDS,
    LIGATURES,
    STOPWORDS,
    WORD_RE,
    content_tokens,
    folded,
    plain_words,
    singular,
    stem,
    text_hash,
    tokenize,
)

__all__ = [
    "ABBREVIATIONS",
    "GRADER_STOPWORDS",
    "LIGATURES",
    "STOPWORDS",
    "WORD_RE",
    "content_tokens",
    "drop_running_headers",
    "folded",
    "is_prose",
    "is_running_header",
    "normalize",
    "paragraphs",
    "plain_words",
    "singular",
    "split_paragraph",
    "split_sentences",
    "stem",
    "text_hash",
    "tokenize",
]
