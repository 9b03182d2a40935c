"""Signs that an answer which reuses the reference's words changed its meaning."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from ultudy.study.grading.model import GraderThresholds
from ultudy.study.grading.reading import ANTONYMS, Reading, is_content, quoted, surface_words


def _negation_signal(ref: Reading, ans: Reading) -> str | None:
    """A shared word negated in one text only: "is not true" for "is true"."""
    flipped = (ref.negated ^ ans.negated) & ref.content & ans.content
    if flipped:
        word = surface_words(ans, flipped)[0]
        return f'it negates "{word}" where the reference answer does not, or the other way round'
    return None


def _antonym_signal(ref: Reading, ans: Reading) -> str | None:
    """An antonym of a reference word that the reference itself does not use."""
    for mine in sorted(set(ans.stems) - set(ref.stems), key=ans.stems.index):
        for theirs in sorted(set(ref.stems), key=ref.stems.index):
            if (mine, theirs) in ANTONYMS:
                return (
                    f'it says "{ans.surface[mine]}" where the reference answer says '
                    f'"{ref.surface[theirs]}"'
                )
    return None


def _number_signal(ref: Reading, ans: Reading) -> str | None:
    """A number the reference does not have (number words count if the reference has any)."""
    extra = ans.digits - ref.numbers
    if ref.numbers:
        extra |= ans.numbers - ref.numbers
    if extra:
        return f"it has a number the reference answer does not have ({', '.join(sorted(extra))})"
    return None


def _unique_positions(text: Reading) -> dict[str, int]:
    """The position, among the content words, of each content stem that occurs once."""
    content = [stem for stem in text.stems if is_content(stem)]
    return {stem: index for index, stem in enumerate(content) if content.count(stem) == 1}


def _passive(text: Reading, stem: str) -> bool:
    """Passive voice, "(is) influenced by": a participle followed by "by"."""
    index = text.stems.index(stem)
    participle = text.words[index].endswith(("ed", "en"))
    return participle and text.stems[index + 1 : index + 2] == ("by",)


_WINDOW = 5
"""How far apart (in content words) two swapped terms and their anchor may be."""


def _flipped_around(anchor: str, ref: dict[str, int], ans: dict[str, int]) -> bool:
    """A nearby term moved from before the anchor to after it, and another the other way."""
    near = [t for t in ref if t in ans and t != anchor and abs(ref[t] - ref[anchor]) <= _WINDOW]
    before = [t for t in near if ref[t] < ref[anchor] and ans[t] > ans[anchor]]
    after = [t for t in near if ref[t] > ref[anchor] and ans[t] < ans[anchor]]
    return bool(before and after)


def _order_signal(ref: Reading, ans: Reading) -> str | None:
    """ "A causes B" for "B causes A", or a switch to the passive without the swap."""
    ref_pos, ans_pos = _unique_positions(ref), _unique_positions(ans)
    for anchor in sorted(set(ref_pos) & set(ans_pos), key=ref_pos.__getitem__):
        flipped = _flipped_around(anchor, ref_pos, ans_pos)
        if flipped != (_passive(ref, anchor) != _passive(ans, anchor)):
            return (
                f'the terms around "{ans.surface[anchor]}" are in a different order or role '
                "than in the reference answer"
            )
    return None


_MAX_REPLACED = 3
"""Replacing more content words than this at once is rewording, not a swapped term."""


def _replacement(
    matcher: difflib.SequenceMatcher[str], ref: Reading, ans: Reading, *, close: bool
) -> str | None:
    """Reference words replaced by another reference word ("right" for "left") or, in a
    close copy, by a new word ("tuple" for "list")."""
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        old = {stem for stem in ref.stems[i1:i2] if is_content(stem)}
        new = {stem for stem in ans.stems[j1:j2] if is_content(stem)}
        if tag != "replace" or not old or not new or max(len(old), len(new)) > _MAX_REPLACED:
            continue
        moved = (new & ref.content) - old
        novel = (new - ref.content) and (old - ans.content)
        if moved or (close and novel):
            return (
                f"it follows the reference answer but says {quoted(surface_words(ans, new))} "
                f"where the reference says {quoted(surface_words(ref, old))}"
            )
    return None


_FAR = 3
"""How many shared terms a term has to jump over to count as moved."""


def _longest_increasing(values: Sequence[int]) -> set[int]:
    """The indexes of a longest increasing subsequence of `values`."""
    chains: list[list[int]] = []
    for index, value in enumerate(values):
        longest: list[int] = []
        for chain in chains:
            if values[chain[-1]] < value and len(chain) > len(longest):
                longest = chain
        chains.append([*longest, index])
    best: list[int] = max(chains, key=len) if chains else []
    return set(best)


def _moved(ref: Reading, ans: Reading) -> str | None:
    """A key term moved far from its place in the reference: likely a different role."""
    ref_pos, ans_pos = _unique_positions(ref), _unique_positions(ans)
    shared = sorted(set(ref_pos) & set(ans_pos), key=ref_pos.__getitem__)
    in_answer = sorted(shared, key=ans_pos.__getitem__)
    kept = _longest_increasing([in_answer.index(term) for term in shared])
    for rank, term in enumerate(shared):
        if rank not in kept and abs(in_answer.index(term) - rank) >= _FAR:
            return f'it follows the reference answer but puts "{ans.surface[term]}" elsewhere'
    return None


def _edit_signals(ref: Reading, ans: Reading, thresholds: GraderThresholds) -> list[str | None]:
    """For an answer that is the reference sentence edited: what the edit changed."""
    matcher = difflib.SequenceMatcher(None, ref.stems, ans.stems, autojunk=False)
    ratio = matcher.ratio()
    if ratio < thresholds.near_copy:
        return []
    moved = _moved(ref, ans) if ratio >= thresholds.moved_copy else None
    return [_replacement(matcher, ref, ans, close=ratio >= thresholds.close_copy), moved]


def meaning_signals(ref: Reading, ans: Reading, thresholds: GraderThresholds) -> tuple[str, ...]:
    found = (
        _negation_signal(ref, ans),
        _antonym_signal(ref, ans),
        _number_signal(ref, ans),
        _order_signal(ref, ans),
        *_edit_signals(ref, ans, thresholds),
    )
    return tuple(dict.fromkeys(signal for signal in found if signal))
