"""A model's streamed text, cut into what can be checked and shown (no checking here).

- `complete_sentences(text)`: the prefix of a stream that ends with a whole sentence and is
  followed by the start of the next one (a late [n] may still belong to the last sentence);
- `whole_sentences(text)`: an answer cut at the token limit, up to its last whole sentence;
- `without_repeated_verdict(text, verdict)`: the model's text without a first line that says
  the chain's verdict again.

The sentence checks live in `cited.py`, the chain that uses these in `chain.py`.
"""

from __future__ import annotations

import re

from bot.safety.guard import SECTION_LABEL, overlap


def complete_sentences(text: str) -> str:
    """The prefix of a streamed text that ends with a whole sentence AND is followed by the
    start of the next one (a word, not a [n] marker): until then a late marker may still
    belong to the last sentence. "" when there is none yet."""
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    for end in reversed(ends):
        after = text[end:]
        follow = _AFTER_MARKS.match(after)
        if follow and follow.end() < len(after) and _WORD.match(after[follow.end()]):
            return text[: end + len(follow.group(1))]
    return ""


def without_repeated_verdict(text: str, verdict: str) -> str:
    """The model's text without a first line that says the chain's verdict again (it was
    asked not to; "不靠谱，很可能是职业背债。[1]" after "不靠谱，很可能是骗局：这是典型的「职业背债」。")."""
    lines = text.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if not verdict or first is None:
        return text
    line = re.sub(r"\[[\d,，、\s]+\]", "", lines[first])
    if _is_label(line) or overlap(line, verdict) < REPEATED_VERDICT_MIN:
        return text
    return "\n".join(lines[first + 1 :])


REPEATED_VERDICT_MIN = 0.5  # share of a first line's words found in the verdict


def whole_sentences(text: str) -> str:
    """A model's text cut at the token limit, up to its last whole sentence (and the markers
    that follow it), without trailing label or bullet lines that lost their content."""
    ends = [m.end() for m in _CUT_END.finditer(text)]
    if not ends:
        return ""
    marks = _AFTER_MARKS.match(text[ends[-1] :])
    lines = text[: ends[-1] + len(marks.group(1).rstrip())].splitlines()
    while lines and (_is_label(lines[-1]) or not _WORD.search(lines[-1])):
        lines.pop()
    return "\n".join(lines)


MIN_CUT_SENTENCES = 2  # a cut answer is shown only with two checked sentences of its own
_SENTENCE_END = re.compile(r"[。！？!?]|\.(?=\s)")
_CUT_END = re.compile(r"[。！？!?]|\.(?=\s|\[)")
_BULLET = re.compile(r"^\s*[-*•]\s*")
_AFTER_MARKS = re.compile(r"((?:\s*\[[\d,，、\s]+\])*)[\s\-*•]*")
_WORD = re.compile(r"[\w\u4e00-\u9fff]")


def _is_label(line: str) -> bool:
    """A section label line, bulleted or not ("要点：", "- Key facts:")."""
    return bool(SECTION_LABEL.match(_BULLET.sub("", line)))
