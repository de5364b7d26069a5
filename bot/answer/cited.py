"""Each sentence of a model's answer against the passage it cites, and the one repair allowed.

`check_sentences(text, passages)` splits an answer (numbered passages 1..n, before
`verify.verify_citations` renumbers them by article) into sentences with their [n] markers and
returns the text and the problems found:

- a sentence that cites passages must be supported by one of them (`guard.supports`: token
  overlap), else "unsupported sentence";
- a marker that points to no passage is left for `verify_citations` to remove; a sentence
  whose only markers point nowhere counts as uncited;
- a sentence without a marker of its own is checked against the markers that end its line
  ("A。B。[2]"), or, with none there, against every passage shown: unsupported by all of them
  is "uncited unsupported sentence" (section label lines such as "要点：" are skipped);
- repair: a small model often writes the marker at the start of the NEXT sentence
  ("…诈骗。\n[1] 对方…"). A run of markers before any words of a sentence is moved to the end
  of the previous sentence only when that sentence has no marker of its own and the guard can
  prove it is supported by one of those passages; otherwise the markers stay where they are
  and count for the sentence they start.

`all_clear_verdict(text)`: a first line that calls it real, safe or fine is rejected by the
chain. Verdict and doubt words live in `bot/answer/verdicts.yaml`. Numbers, URLs, amounts and promises are checked elsewhere (`bot/safety/guard.py`). This
module never calls a model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from bot.records import Passage
from bot.safety.guard import supports

_MARKER = re.compile(r"(\[\s*\d+(?:\s*[,，、]\s*\d+)*\s*\])")
_END = re.compile(r"(?<=[。！？!?])|(?<=\.)(?=\s)")
_BULLET = re.compile(r"^\s*(?:[-*•·]|\d+[.、)])\s+")
_LABEL = re.compile(r"^\s*(?:[^\s。！？!?]{1,16}|[A-Za-z]+(?: [A-Za-z]+){0,4})\s*[：:]\s*$")
_WORD = re.compile(r"[\w\u4e00-\u9fff]")
VERDICTS_PATH = Path(__file__).resolve().parent / "verdicts.yaml"


@lru_cache(maxsize=1)
def _verdicts() -> dict:
    """bot/answer/verdicts.yaml: verdict words, all-clear openings and doubt words."""
    data = yaml.safe_load(VERDICTS_PATH.read_text(encoding="utf-8"))
    return {
        "words": data["verdict_words"],
        "all_clear": {k: re.compile(v, re.IGNORECASE) for k, v in data["all_clear"].items()},
        "doubt": re.compile(data["doubt"], re.IGNORECASE),
    }


def all_clear_verdict(text: str) -> bool:
    """True when the answer's first line says it is real / safe / fine and nothing doubts it."""
    line = next((x.strip() for x in text.splitlines() if x.strip()), "")
    line = _MARKER.sub("", line)
    v = _verdicts()
    return bool(v["all_clear"][_lang(line)].match(line)) and not v["doubt"].search(line)


def verdict_text(pattern: str, text: str) -> str:
    """What a sentence may say beyond its passage: the pattern's name and verdict words."""
    return f" {pattern} {_verdicts()['words'][_lang(text)]}"


def _lang(text: str) -> str:
    return "zh" if re.search(r"[\u4e00-\u9fff]", text) else "en"


@dataclass
class Sentence:
    """One sentence: markers before its first word (`lead`), its words, its own markers."""

    lead: list[int] = field(default_factory=list)
    body: str = ""
    cites: list[int] = field(default_factory=list)
    closed: bool = False

    def has_words(self) -> bool:
        return bool(_WORD.search(self.body))

    def render(self) -> str:
        lead = "".join(f"[{n}]" for n in self.lead)
        cites = "".join(f"[{n}]" for n in self.cites)
        return f"{lead}{self.body.rstrip()}{cites}"


@dataclass
class Line:
    prefix: str
    sentences: list[Sentence]

    def render(self) -> str:
        return self.prefix + "".join(s.render() for s in self.sentences)


def _numbers(marker: str) -> list[int]:
    return [int(x) for x in re.findall(r"\d+", marker)]


def parse(text: str) -> list[Line]:
    """Lines of sentences; every [n] belongs to the sentence it follows or (`lead`) starts."""
    lines: list[Line] = []
    for raw in text.splitlines():
        m = _BULLET.match(raw)
        prefix, rest = (raw[: m.end()], raw[m.end() :]) if m else ("", raw)
        sentences = [Sentence()]
        for segment in _MARKER.split(rest):
            if not segment:
                continue
            cur = sentences[-1]
            if _MARKER.fullmatch(segment):
                (cur.cites if cur.has_words() else cur.lead).extend(_numbers(segment))
                continue
            for part in _END.split(segment):
                if not part:
                    continue
                cur = sentences[-1]
                if cur.closed and part.strip():
                    cur = Sentence()
                    sentences.append(cur)
                cur.body += part
                if re.search(r"[。！？!?.]\s*$", part) and cur.has_words():
                    cur.closed = True
        lines.append(Line(prefix, [s for s in sentences if s.body.strip() or s.lead or s.cites]))
    return lines


@dataclass(frozen=True)
class SentenceCheck:
    text: str  # the answer, with provable late markers moved back
    problems: list[str]
    repaired: int  # markers moved
    sentences: int  # sentences with words (label lines excluded)
    supported: int  # of those, supported by a passage they cite


def check_sentences(text: str, passages: list[Passage], pattern: str = "") -> SentenceCheck:
    """Repair provable late markers, then check every sentence against what it cites.
    `pattern` (the name of the pattern the chain chose) and the verdict words count as
    supported: the first line is meant to say "不靠谱，这是<pattern>"."""
    lines = parse(text)
    extra = verdict_text(pattern, text)
    texts = [p.text + extra for p in passages]

    def valid(numbers: list[int]) -> list[int]:
        return [n for n in numbers if 1 <= n <= len(texts)]

    def supported_by(sentence: Sentence, numbers: list[int]) -> bool:
        return any(supports(sentence.body, texts[n - 1]) for n in valid(numbers))

    repaired = 0
    previous: Sentence | None = None
    for line in lines:
        for s in line.sentences:
            if s.lead and previous is not None and not valid(previous.cites):
                if supported_by(previous, s.lead):
                    previous.cites, s.lead = s.lead, []
                    repaired += 1
            if s.has_words() and not _LABEL.match(s.body):
                previous = s

    problems: list[str] = []
    counted = supported = 0
    for line in lines:
        # a line's last markers cover the sentences of that line that have none of their own
        # ("A。B。[2]"): each of them is still checked against [2]
        inherited: list[int] = []
        for s in reversed(line.sentences):
            own = valid(s.cites + s.lead)
            inherited = own or inherited
            if not s.has_words() or _LABEL.match(s.body):
                continue
            counted += 1
            cited = own or inherited
            short = s.body.strip()[:40]
            if cited:
                if supported_by(s, cited):
                    supported += 1
                else:
                    problems.append(f"unsupported sentence {cited}: {short}")
            elif any(supports(s.body, t) for t in texts):
                supported += 1  # no marker, but a passage it was shown supports it
            else:
                problems.append(f"uncited unsupported sentence: {short}")
    new_text = "\n".join(line.render() for line in lines)
    return SentenceCheck(new_text, problems, repaired, counted, supported)
