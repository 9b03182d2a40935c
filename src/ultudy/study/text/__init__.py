"""Text the study engines read: one word lexicon, cleaning, paragraphs and sentences."""

from ultudy.study.text.clean import drop_running_headers, is_running_header, normalize
from ultudy.study.text.sentences import (
    LIST_ITEM_RE,
    is_prose,
    paragraphs,
    split_paragraph,
    split_sentences,
)
from ultudy.study.text.words import (
    ABBREVIATIONS,
    DIVISION_WORDS,
    FILLER_WORDS,
    GRADER_STOPWORDS,
    LIGATURES,
    MEANING_WORDS,
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
    "DIVISION_WORDS",
    "FILLER_WORDS",
    "GRADER_STOPWORDS",
    "LIGATURES",
    "LIST_ITEM_RE",
    "MEANING_WORDS",
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
