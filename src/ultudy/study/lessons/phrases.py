"""Phrases as the lesson engine compares them: keys, regexes, shapes, sameness."""

from __future__ import annotations

import re
from functools import lru_cache

from ultudy.study.text import STOPWORDS, WORD_RE, singular


def phrase_key(phrase: str) -> tuple[str, ...]:
    """Lower-cased singular tokens: the identity of a phrase ("DBMSs" → ("dbms",))."""
    return tuple(_key_token(word) for word in WORD_RE.findall(phrase))


def _key_token(word: str) -> str:
    if re.fullmatch(r"[A-Z0-9]{2,}s?", word):  # An acronym is not stemmed: "DBMSs" → "dbms".
        return word.removesuffix("s").lower() if word[-1] == "s" else word.lower()
    return singular(word.lower())


def _token_pattern(token: str) -> str:
    """The token, singular or plural ("pipe", "pipes"; "library", "libraries"; "DBMSs")."""
    if re.fullmatch(r"[A-Z0-9]{2,}s?", token):  # An acronym: "DBMS", "DBMSs".
        return re.escape(token.removesuffix("s")) + "s?"
    lower = token.lower()
    stem = singular(lower)
    if not stem.isalpha():
        return re.escape(token)
    base = token[: len(stem)] if lower.startswith(stem) else token[: len(stem) - 1] + "y"
    if stem.endswith("y") and len(stem) > 3:
        return re.escape(base[:-1]) + "(?:y|ies)"
    return re.escape(base) + "(?:s|es)?"


@lru_cache(maxsize=4096)
def phrase_regex(phrase: str) -> re.Pattern[str]:
    """Matches the phrase in running text: singular or plural, any spacing, any case unless
    the phrase has capitals after its first letter."""
    body = r"[\s\-]+".join(_token_pattern(token) for token in phrase.split())
    # "SELECT" or "DBMSs" keep their case ("select" is another word); "Pipes" does not.
    flags = 0 if re.search(r".[A-Z]", phrase) else re.IGNORECASE
    return re.compile(rf"(?<![\w.\-]){body}(?![\w\-]|\.\w)", flags)


_LITERALS = frozenset("TRUE FALSE NULL NA NAN NaN INF Inf NONE None YES NO OK".split())


def is_term_like(name: str) -> bool:
    """An identifier ("read.table", "colClasses") or an acronym ("DBMSs", "SQL")."""
    if name in _LITERALS:
        return False
    return bool(re.search(r"[._]\w|[a-z][A-Z]|^[A-Z]{2,}", name))


def _overlaps(first: tuple[str, ...], second: tuple[str, ...]) -> bool:
    """Whether one phrase's words appear, in order, inside the other's."""
    short, long = sorted((first, second), key=len)
    return any(long[i : i + len(short)] == short for i in range(len(long) - len(short) + 1))


def _is_acronym_of(short: str, long: tuple[str, ...]) -> bool:
    """ "dbms" for ("database", "management", "system"): each initial, in order."""
    letters = short[:-1] if short.endswith("s") and len(short) > 2 else short
    initials = [token[0] for token in long if token not in STOPWORDS]
    if len(initials) < 2 or not letters.isalpha() or letters[0] != initials[0]:
        return False
    rest = iter(letters)
    return all(initial in rest for initial in initials) and len(letters) <= 2 * len(initials)


def same_thing(first: str, second: str) -> bool:
    """Equal, one inside the other, or one the acronym of the other ("DBMSs")."""
    a, b = phrase_key(first), phrase_key(second)
    if not a or not b or _overlaps(a, b):
        return True
    short, long = sorted((a, b), key=len)
    return len(short) == 1 and _is_acronym_of(short[0], long)


def hinted(text: str, phrase: str) -> bool:
    """Whether the phrase shows in the text, even inside a compound ("file" in "flat-file")."""
    regex = phrase_regex(phrase)
    loose = regex.pattern.replace(r"(?<![\w.\-])", r"(?<![^\W_])", 1)
    loose = loose.replace(r"(?![\w\-]|\.\w)", r"(?![^\W_])")
    return re.search(loose, text, regex.flags) is not None


def name_shape(name: str) -> str:
    """What kind of name it is, so that distractors look like the answer."""
    if re.fullmatch(r"[A-Z0-9\-]{2,}s?", name):
        return "acronym"
    if is_term_like(name):
        return "identifier"
    if all(word[:1].isupper() for word in name.split()):
        return "proper"
    return "phrase"
