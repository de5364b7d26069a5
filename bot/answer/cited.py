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
  and count for the sentence they start;
- repair: a marker that names the wrong passage ("…诈骗。[1]" where only [3] says it), or a
  missing marker, is pointed at the shown passage whose words cover the sentence best, only
  when that passage provably supports it (`guard.supports`); a sentence no shown passage
  supports keeps what it had and is reported. A first line made only of the pattern's name
  and verdict words gets no marker. Both repairs are counted (`repaired`, `repointed`), so an
  eval can say how often the model needed them.

- a sentence clause whose closest passage clause (the same claim: most words shared both
  ways) is negated when it is not, or the reverse, is reported ("negation differs from the
  passage": a small model drops "never"); only a negation that bears on the shared words
  counts ("What the agents don't say is that you can ask…" is not "You can ask…" negated);
- a sentence after the first line that repeats the user's question or story more than any
  passage ("- 客服刚刚让我开了屏幕共享…" as a key fact) is dropped (counted in `dropped`), with
  a section label left empty by it; it adds nothing, and removing it adds no claim. On the
  first line, the verdict, it is reported ("restates the question"). When the chain wrote the
  first line (`verdict`), a sentence that only says that verdict again ("不可信。") is dropped
  the same way, and so is a sentence copied from the prompt's worked example rather than
  from a passage ("Talk to a friend or family member you trust." in a debt answer).

`all_clear_verdict(text)`: a first line that calls it real, safe or fine is rejected by the
chain. Verdict and doubt words live in `bot/answer/verdicts.yaml`. Numbers, URLs, amounts and promises are checked elsewhere (`bot/safety/guard.py`). This
module never calls a model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from bot.answer.negation import flipped, genuine_does_what_scammers_do
from bot.records import Passage
from bot.safety.guard import SECTION_LABEL, content_tokens, overlap, supports

_MARKER = re.compile(r"(\[\s*\d+(?:\s*[,，、]\s*\d+)*\s*\])")
_END = re.compile(r"(?<=[。！？!?])|(?<=\.)(?=\s)")
_BULLET = re.compile(r"^\s*(?:[-*•·]|\d+[.、)])\s+")
_LABEL = SECTION_LABEL
_WORD = re.compile(r"[\w\u4e00-\u9fff]")
COPIED_MIN = 0.6  # share of a sentence's words found in a worked example (as RESTATED_MIN)
RESTATED_MIN = 0.6  # share of a sentence's words taken from the question that makes it an echo
RESTATED_WORDS = 4  # content words a sentence needs before it can count as an echo
VERDICTS_PATH = Path(__file__).resolve().parent / "verdicts.yaml"


@lru_cache(maxsize=1)
def _verdicts() -> dict:
    """bot/answer/verdicts.yaml: verdict words, all-clear openings and doubt words (its
    negation and genuine-body lists are bot/answer/negation.py's)."""
    data = yaml.safe_load(VERDICTS_PATH.read_text(encoding="utf-8"))

    def by_lang(key: str) -> dict[str, re.Pattern]:
        return {k: re.compile(v, re.IGNORECASE) for k, v in data[key].items()}

    return {
        "words": data["verdict_words"],
        "all_clear": by_lang("all_clear"),
        "doubt": re.compile(data["doubt"], re.IGNORECASE),
    }


def all_clear_verdict(text: str) -> bool:
    """True when the answer's first line says it is real / safe / fine and nothing doubts it."""
    line = next((x.strip() for x in text.splitlines() if x.strip()), "")
    line = _MARKER.sub("", line)
    v = _verdicts()
    return bool(v["all_clear"][_lang(line)].match(line)) and not v["doubt"].search(line)


def verdict_text(pattern: str) -> str:
    """What a sentence may say beyond its passage: the pattern's name and verdict words (of
    both languages: an English answer may quote a Chinese term, and the reverse)."""
    return f" {pattern} {' '.join(_verdicts()['words'].values())}"


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
    dropped: bool = False  # every sentence of it restated the question: not rendered

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
    repointed: int  # wrong or missing markers pointed at the passage that supports it
    dropped: int  # sentences that restated the question, the chain's verdict or themselves
    sentences: int  # sentences with words (label lines excluded)
    supported: int  # of those, supported by a passage they cite


def check_sentences(
    text: str,
    passages: list[Passage],
    pattern: str = "",
    question: str = "",
    partial: bool = False,
    verdict: str = "",
    examples: Sequence[str] = (),
) -> SentenceCheck:
    """Repair provable late markers, then check every sentence against what it cites.
    `pattern` (the name of the pattern the chain chose) and the verdict words count as
    supported: the first line is meant to say "不靠谱，这是<pattern>". A sentence that is more
    the user's `question` than any passage ("- 客服刚刚让我开了屏幕共享…" as a key fact) is
    dropped (a passage that shares its words does not make the asker's story a fact); on the
    first line it is reported. `verdict`: the first line the chain wrote; a sentence that only
    says it again (supported by it and the verdict words more than by any passage: "不可信。") is
    dropped too, wherever it stands. `partial`: `text` is a streamed prefix whose last line may still
    get its marker, so no marker is added there yet (the released text must stay a prefix of
    the final one). `examples`: the prompt's worked-example answers; a sentence copied from
    one ("Talk to a friend or family member you trust." under a debt question) and closer to it
    than to any passage is dropped too."""
    lines = parse(text)
    extra = verdict_text(pattern)
    texts = [p.text + extra for p in passages]

    def valid(numbers: list[int]) -> list[int]:
        return [n for n in numbers if 1 <= n <= len(texts)]

    def supported_by(sentence: Sentence, numbers: list[int]) -> bool:
        return any(supports(sentence.body, texts[n - 1]) for n in valid(numbers))

    def echoes(sentence: Sentence) -> bool:
        # a question is never a claim, so a short one counts too ("是白户，这种靠谱吗？" as a step)
        asked = sentence.body.rstrip().endswith(("?", "？"))
        if not question or not (_long(sentence.body) or asked):
            return False
        echo = overlap(sentence.body, question)
        return echo >= RESTATED_MIN and echo > max(overlap(sentence.body, t) for t in texts)

    said = f"{verdict} {extra}" if verdict else ""
    raw = [p.text for p in passages]

    def repeats_verdict(sentence: Sentence) -> bool:
        """Supported by the chain's verdict line more than by any passage ("不可信。")."""
        if not said:
            return False
        again = overlap(sentence.body, said)
        return again >= RESTATED_MIN and again > max(
            (overlap(sentence.body, t) for t in raw), default=0
        )

    seen: set[str] = set()

    def repeated(sentence: Sentence) -> bool:
        """Said before in this answer (a small model writes one step under two labels)."""
        key = re.sub(r"\W", "", sentence.body)
        if not key:
            return False
        if key in seen:
            return True
        seen.add(key)
        return False

    def copies_example(sentence: Sentence) -> bool:
        copied = max((overlap(sentence.body, e) for e in examples), default=0)
        return copied >= COPIED_MIN and copied > max(
            (overlap(sentence.body, t) for t in raw), default=0
        )

    def noise(sentence: Sentence) -> bool:
        if _LABEL.match(sentence.body):  # a label made of the verdict's words: "先做下面这几件事："
            return bool(said) and overlap(sentence.body, said) == 1 and not _known(sentence.body)
        return (
            echoes(sentence)
            or repeats_verdict(sentence)
            or repeated(sentence)
            or copies_example(sentence)
        )

    dropped = 0
    worded = [line for line in lines if any(x.has_words() for x in line.sentences)]
    # the first line is the model's own verdict when the chain wrote none: an echo of the
    # question there is reported below, not dropped
    for line in worded if verdict else worded[1:]:
        keep = [x for x in line.sentences if not noise(x)]
        if len(keep) < len(line.sentences):
            dropped += len(line.sentences) - len(keep)
            line.sentences = keep
            line.dropped = not any(x.has_words() for x in keep)

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

    repointed = 0
    for k, line in enumerate(lines):
        cited_of = _line_citations(line, valid)  # before any change
        open_line = partial and k == len(lines) - 1
        for i in range(len(line.sentences) - 1, -1, -1):
            s, cited = line.sentences[i], cited_of[i]
            if not s.has_words() or _LABEL.match(s.body) or supported_by(s, cited):
                continue
            if open_line and not cited:
                continue
            # the passage whose own words cover the sentence best (not the shared verdict words)
            best = max(range(1, len(texts) + 1), key=lambda n: overlap(s.body, raw[n - 1]))
            if not overlap(s.body, raw[best - 1]) or not supports(s.body, texts[best - 1]):
                continue
            if valid(s.cites + s.lead):  # earlier sentences that leaned on them keep them
                for j in range(i):
                    t = line.sentences[j]
                    leaned = not valid(t.cites + t.lead) and cited_of[j] == cited
                    if leaned and t.has_words() and supported_by(t, cited):
                        t.cites = list(cited)
            s.lead, s.cites = [], [best]
            repointed += 1

    problems: list[str] = []
    counted = supported = 0
    for line in lines:
        # a line's last markers cover the sentences of that line that have none of their own
        # ("A。B。[2]"): each of them is still checked against [2]
        for s, cited in zip(line.sentences, _line_citations(line, valid), strict=True):
            if not s.has_words() or _LABEL.match(s.body):
                continue
            counted += 1
            short = s.body.strip()[:40]
            if echoes(s):
                problems.append(f"restates the question: {short}")
            elif cited:
                if supported_by(s, cited):
                    supported += 1
                else:
                    problems.append(f"unsupported sentence {cited}: {short}")
            elif any(supports(s.body, t) for t in texts):
                supported += 1  # no marker, but a passage it was shown supports it
            else:
                problems.append(f"uncited unsupported sentence: {short}")
            source = flipped(s.body, [raw[n - 1] for n in cited] if cited else raw)
            if source:
                problems.append(f"negation differs from the passage: {short} / {source[:40]}")
            elif genuine_does_what_scammers_do(s.body):
                problems.append(f"says a genuine body asks for money or codes: {short}")
    new_text = "\n".join(_render(lines) if dropped else [line.render() for line in lines])
    return SentenceCheck(new_text, problems, repaired, repointed, dropped, counted, supported)


def _render(lines: list[Line]) -> list[str]:
    """Lines without the dropped ones, and without a section label whose lines all went."""
    out = [line.render() for line in lines if not line.dropped]
    keep = []
    for i, text in enumerate(out):
        rest = [x for x in out[i + 1 :] if x.strip()]
        if _LABEL.match(text) and (not rest or _LABEL.match(rest[0])):
            continue
        keep.append(text)
    return keep


def _known(label: str) -> bool:
    """One of the section labels the prompt asks for (prompts/compose.yaml's)."""
    return label.strip().rstrip(":：").strip().lower() in _section_labels()


@lru_cache(maxsize=1)
def _section_labels() -> frozenset[str]:
    from bot.prompts import load_prompt

    compose = load_prompt("compose")
    lines = f"{compose.zh}\n{compose.en}".splitlines()
    return frozenset(
        x.strip().rstrip(":：").strip().lower()
        for x in lines
        if x.strip().endswith((":", "：")) and "{" not in x
    )


def _long(sentence: str) -> bool:
    """Long enough to be a restated story, not a short answer ("No, that is not legal.")."""
    return len(content_tokens(sentence)) >= RESTATED_WORDS


def _line_citations(line: Line, valid) -> list[list[int]]:
    """Per sentence of a line, the valid markers it answers to: its own, else those of the
    next sentence in the line that has some ("A。B。[2]": A answers to [2])."""
    out: list[list[int]] = []
    inherited: list[int] = []
    for s in reversed(line.sentences):
        inherited = valid(s.cites + s.lead) or inherited
        out.append(inherited)
    return out[::-1]
