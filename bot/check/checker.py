"""Scam check: a pasted message in, a verdict with quoted red flags and cited evidence out.

`Checker.check(text)` combines three transparent signals into one additive score (weights in
`check_weights.yaml`, flags in `redflags.yaml`): red flags quoted from the message,
taxonomy aliases found in it, and how close it is to the lures in the knowledge articles'
常见话术 / What they say sections (the scores of passages from the injected `search`). The
score goes through a logistic function; thresholds turn it into scam / suspicious / legit.
The nearest-example signal is bot/check/examples.py, the wording signal
bot/check/wording.py; turning a result into cited text is bot/check/render.py.

This module does not embed, store or retrieve anything itself: without `search` it works on
flags and aliases alone. It does not call a language model and never guesses a topic that no
signal points to.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from bot.check.examples import ExampleBank, Resemblance
from bot.check.redflags import FlagHit, RedFlagRules
from bot.check.wording import WordingModel
from bot.lang import detect_lang
from bot.records import Passage
from bot.safety.pii import find_pii, redact, redact_slice

DEFAULT_WEIGHTS_PATH = Path(__file__).resolve().parent / "check_weights.yaml"
Search = Callable[[str, int], list[Passage]]


@dataclass
class FlagPart:
    """A red flag (or counter-signal) as the composer needs it; `evidence` indexes
    `CheckResult.evidence`, or is None when no passage supports it."""

    flag: str
    labels: Mapping[str, str]
    quote: str
    weight: float
    evidence: int | None = None


@dataclass
class TopicPart:
    id: str
    names: Mapping[str, str]
    evidence: int | None = None  # a lure passage of this topic


@dataclass
class ExplanationParts:
    """Everything `render_check` (or another composer) needs, with no wording in it."""

    verdict: str
    confidence: float
    flags: list[FlagPart] = field(default_factory=list)
    counter_signals: list[FlagPart] = field(default_factory=list)
    topics: list[TopicPart] = field(default_factory=list)
    todo_evidence: int | None = None  # a "what to do" passage of the top topic
    floored: bool = False  # "suspicious" only because it asks for money, a code or access


@dataclass
class CheckResult:
    verdict: str  # scam | suspicious | legit
    confidence: float  # scam: P(scam); legit: 1 - P(scam); suspicious: P(scam)
    probability: float  # P(scam) from the logistic score
    score: float
    lang: str
    topics: list[str]
    red_flags: list[dict[str, Any]]  # {flag, label, quote, weight}
    counter_signals: list[dict[str, Any]]
    evidence: list[Passage]
    explanation_parts: ExplanationParts
    signals: dict[str, float] = field(default_factory=dict)  # the score, term by term

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if k not in ("evidence", "explanation_parts")}
        d["evidence"] = [{"chunk_id": p.chunk.chunk_id, "score": p.score} for p in self.evidence]
        return d


@dataclass(frozen=True)
class CheckWeights:
    data: Mapping[str, Any]

    @classmethod
    def load(cls, path: Path | str = DEFAULT_WEIGHTS_PATH) -> CheckWeights:
        return cls(yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {})

    def get(self, group: str, key: str, default: Any = None) -> Any:
        return (self.data.get(group) or {}).get(key, default)

    def num(self, group: str, key: str, default: float = 0.0) -> float:
        return float(self.get(group, key, default))


def _topic_table(taxonomy: Any) -> dict[str, dict[str, Any]]:
    """Accept the taxonomy YAML dict ({"topics": {...}} or {id: {...}}) or a bot.taxonomy.Taxonomy."""
    topics = getattr(taxonomy, "topics", None)
    if topics is None and isinstance(taxonomy, Mapping):
        topics = taxonomy.get("topics", taxonomy)
    out: dict[str, dict[str, Any]] = {}
    for tid, t in (topics or {}).items():
        get = t.get if isinstance(t, Mapping) else lambda k, d=None, t=t: getattr(t, k, d)
        out[str(tid)] = {
            "zh": str(get("zh", tid)),
            "en": str(get("en", tid)),
            "aliases": [str(a) for a in (get("aliases", ()) or ())],
        }
    return out


def _alias_regex(alias: str) -> re.Pattern[str]:
    if alias.isascii():
        return re.compile(rf"(?<![A-Za-z0-9]){re.escape(alias)}(?![A-Za-z0-9])", re.IGNORECASE)
    return re.compile(re.escape(alias))


class Checker:
    """Score a message against red flags, taxonomy aliases and (optionally) retrieved lures."""

    def __init__(
        self,
        flags: RedFlagRules,
        taxonomy: Any,
        search: Search | None = None,
        weights: CheckWeights | Mapping[str, Any] | None = None,
        examples: ExampleBank | None = None,
        wording: WordingModel | None = None,
    ) -> None:
        self.flags = flags
        self.examples = examples
        self.wording = wording
        self.topics = _topic_table(taxonomy)
        self.search = search
        if weights is None:
            weights = CheckWeights.load()
        self.w = weights if isinstance(weights, CheckWeights) else CheckWeights(weights)
        self._aliases = [
            (t, a, _alias_regex(a)) for t in self.topics for a in self.topics[t]["aliases"]
        ]
        sections = self.w.data.get("sections") or {}
        self._lures = set(sections.get("lures", ["lures"]))
        self._flag_sections = set(sections.get("flags", ["flags"]))
        self._todo = set(sections.get("todo", ["todo"]))

    # ---------------------------------------------------------------- signals
    def aliases_in(self, text: str) -> list[tuple[str, str]]:
        """(topic, alias) for every distinct alias found in the text."""
        return [(tid, alias) for tid, alias, rx in self._aliases if rx.search(text)]

    def _similarity(self, passages: list[Passage]) -> tuple[float, dict[str, float]]:
        floor, tw = self.w.num("similarity", "floor", 1.0), self.w.num("similarity", "topic_weight")
        best, by_topic = 0.0, defaultdict(float)
        for p in (p for p in passages if p.chunk.section in self._lures):
            best = max(best, p.score)
            for i, t in enumerate(p.chunk.topics):  # an article's first topic counts fully
                by_topic[t] = max(by_topic[t], tw * max(0.0, p.score - floor) / (1 + (i > 0)))
        return best, dict(by_topic)

    def _resemblance(self, text: str, damp: float) -> tuple[Resemblance | None, float]:
        """The nearest-examples comparison and its score term (0 without an example bank)."""
        if self.examples is None:
            return None, 0.0
        n, topic_k = int(self.w.num("examples", "n", 3)), int(self.w.num("examples", "topic_k", 5))
        near = self.examples.compare(text, n, topic_k)
        cap = self.w.num("examples", "cap")
        term = max(-cap, min(cap, self.w.num("examples", "scale") * near.margin))
        return near, term * damp if term > 0 else term

    def _wording(self, text: str, damp: float) -> tuple[float | None, float]:
        """The wording model's log-odds and its score term (0 without a model)."""
        if self.wording is None:
            return None, 0.0
        log_odds = self.wording.score(text)
        cap = self.w.num("wording", "cap")
        term = max(-cap, min(cap, self.w.num("wording", "scale") * log_odds))
        return log_odds, term * damp if term > 0 else term

    def check(self, text: str, lang: str | None = None) -> CheckResult:
        """Verdict, confidence, topics, quoted red flags and evidence for one message.

        The red-flag rules read the message as written, because the kind of a number is a
        signal (a premium-rate 09... line, a number to call back); personal data in it is
        redacted from every quote, and everything else (aliases, search) sees only the
        redacted text.
        """
        pii = find_pii(text)
        hits = [
            replace(h, quote=redact_slice(text, h.start, h.end, pii)) if pii else h
            for h in self.flags.detect(text)
        ]
        text = redact(text) if pii else text
        lang = lang if lang in ("zh", "en") else detect_lang(text)
        scam_hits = [h for h in hits if not h.legit]
        legit_hits = [h for h in hits if h.legit]
        ignore = set(self.w.get("aliases", "ignore_topics", []) or [])
        alias_hits = [(t, a) for t, a in self.aliases_in(text) if t not in ignore]
        passages = self.search(text, int(self.w.num("search", "k", 12))) if self.search else []
        best_sim, sim_topics = self._similarity(passages)

        # A message that warns about a scam, or retells one the writer avoided, names the
        # tricks without making them: its red flags, aliases and likeness to scam examples
        # count only `frames.factor` as much.
        frame_flags = set(self.w.get("frames", "flags", []) or [])
        framed = any(h.flag in frame_flags for h in legit_hits)
        damp = self.w.num("frames", "factor", 1.0) if framed else 1.0
        s_flags = damp * sum(h.weight for h in scam_hits)
        s_legit = sum(h.weight for h in legit_hits)
        near, s_examples = self._resemblance(text, damp)
        log_odds, s_wording = self._wording(text, damp)
        n_alias = min(len({a for _, a in alias_hits}), int(self.w.num("aliases", "cap")))
        s_alias = damp * self.w.num("aliases", "weight") * n_alias
        over = max(0.0, best_sim - self.w.num("similarity", "floor", 1.0))
        s_sim = min(self.w.num("similarity", "cap"), self.w.num("similarity", "scale") * over)
        bias = float(self.w.data.get("bias", 0.0))
        score = bias + s_flags + s_legit + s_alias + s_sim + s_examples + s_wording
        p = 1.0 / (1.0 + math.exp(-score))  # logistic
        if p >= self.w.num("thresholds", "scam", 0.8):
            verdict, confidence = "scam", p
        elif p >= self.w.num("thresholds", "suspicious", 0.5):
            verdict, confidence = "suspicious", p
        else:
            verdict, confidence = "legit", 1.0 - p
        # The floor: a message that asks to move money, give a code or card details, or give
        # remote access is never "legit", whatever the other terms say: nothing in a message
        # proves who sent it. Warnings and retold scams (a frame fired) are not requests.
        floor_flags = set(self.w.get("floor", "flags", []) or [])
        requests = [h for h in scam_hits if h.flag in floor_flags]
        floored = verdict == "legit" and bool(requests) and not framed
        if floored:
            verdict, confidence = "suspicious", self.w.num("thresholds", "suspicious", 0.5)

        topics = (
            self._rank_topics(scam_hits, alias_hits, sim_topics, near, text)
            if verdict != "legit"
            else []
        )
        parts = ExplanationParts(
            verdict=verdict,
            confidence=round(confidence, 4),
            floored=floored,
            flags=[FlagPart(h.flag, h.labels, h.quote, h.weight) for h in scam_hits],
            counter_signals=[FlagPart(h.flag, h.labels, h.quote, h.weight) for h in legit_hits],
            topics=[
                TopicPart(t, {"zh": self.topics[t]["zh"], "en": self.topics[t]["en"]})
                for t in topics
            ],
        )
        evidence: list[Passage] = []
        if self.search and verdict != "legit":
            evidence = self._gather_evidence(lang, scam_hits, topics, passages, parts)
        return CheckResult(
            verdict=verdict,
            confidence=round(confidence, 4),
            probability=round(p, 4),
            score=round(score, 4),
            lang=lang,
            topics=topics,
            red_flags=[h.as_dict(lang) for h in scam_hits],
            counter_signals=[h.as_dict(lang) for h in legit_hits],
            evidence=evidence,
            explanation_parts=parts,
            signals={
                "bias": bias,
                "flags": round(s_flags, 4),
                "counter_signals": round(s_legit, 4),
                "aliases": round(s_alias, 4),
                "similarity": round(s_sim, 4),
                "best_lure_score": round(best_sim, 4),
                "examples": round(s_examples, 4),
                "wording": round(s_wording, 4),
                **({"wording_log_odds": round(log_odds, 4)} if log_odds is not None else {}),
                "frame_factor": damp,
                "floor": float(floored),
                **(_near_signals(near) if near else {}),
            },
        )

    def _rank_topics(
        self,
        hits: list[FlagHit],
        alias_hits: list[tuple[str, str]],
        sim_topics: dict[str, float],
        near: Resemblance | None,
        text: str,
    ) -> list[str]:
        scores: dict[str, float] = defaultdict(float)
        for h in hits:
            for t, hint in h.topics.items():
                scores[t] += h.weight * hint
        for t, _ in alias_hits:
            scores[t] += self.w.num("aliases", "topic_weight")
        for t, s in sim_topics.items():
            scores[t] += s
        if near is not None:
            for t, vote in near.topic_votes.items():
                scores[t] += self.w.num("examples", "topic_weight") * vote
        # the topic heads of the example vectors and of the wording, averaged
        heads = [near.topic_probabilities] if near is not None else []
        if self.wording is not None:
            heads.append(self.wording.topic_probabilities(text))
        heads = [h for h in heads if h]
        for head in heads:
            for t, prob in head.items():
                scores[t] += self.w.num("topics", "model_weight") * prob / len(heads)
        # an excluded topic (a help channel) is named only when a red flag points at it (a paid
        # "recovery" of lost money is the second scam of that topic)
        exclude = set(self.w.get("topics", "exclude", []) or []) - {
            t for h in hits for t in h.topics
        }
        floor = self.w.num("topics", "min_score")
        ranked = sorted(
            (t for t, s in scores.items() if s >= floor and t in self.topics and t not in exclude),
            key=lambda t: -scores[t],
        )
        return ranked[: int(self.w.get("topics", "max", 3))]

    # ---------------------------------------------------------------- evidence
    def _pick(
        self,
        cands: list[Passage],
        topics: set[str],
        lang: str,
        sections: set[str] | None = None,
        prefer: set[str] | None = None,
    ) -> Passage | None:
        """Best passage sharing a topic: of a `prefer` topic first, then lure sections, then
        red-flag sections, then same language, then score."""

        def key(p: Passage) -> tuple[bool, bool, bool, bool, float]:
            sec = p.chunk.section
            return (
                bool(prefer) and not prefer.intersection(p.chunk.topics),
                sec not in self._lures,
                sec not in self._flag_sections,
                p.chunk.lang != lang,
                -p.score,
            )

        ok = [
            p
            for p in cands
            if topics.intersection(p.chunk.topics)
            and (sections is None or p.chunk.section in sections)
        ]
        return min(ok, key=key) if ok else None

    def _gather_evidence(
        self,
        lang: str,
        hits: list[FlagHit],
        topics: list[str],
        passages: list[Passage],
        parts: ExplanationParts,
    ) -> list[Passage]:
        assert self.search is not None
        k = int(self.w.num("search", "k_flag", 6))
        evidence: dict[str, Passage] = {}  # chunk id -> passage, in order of first use

        def index_of(p: Passage | None) -> int | None:
            if p is None:
                return None
            evidence.setdefault(p.chunk.chunk_id, p)
            return list(evidence).index(p.chunk.chunk_id)

        top = set(topics[:1])
        if topics:
            cands = passages + self.search(self.topics[topics[0]][lang], k)
            parts.topics[0].evidence = index_of(self._pick(cands, top, lang, self._lures))
        n_cited = int(self.w.num("search", "max_cited_flags", 4))
        min_hint = self.w.num("search", "cite_min_hint", 0.5)
        for i in sorted(range(len(hits)), key=lambda i: -hits[i].weight)[:n_cited]:
            wanted = {t for t, v in hits[i].topics.items() if v >= min_hint}
            if wanted:  # flags that hint at no topic (deadlines, links...) get no citation
                cands = passages + self.search(self.flags.get(hits[i].flag).query(lang), k)
                sections = self._lures | self._flag_sections
                found = self._pick(cands, wanted, lang, sections, prefer=top)
                parts.flags[i].evidence = index_of(found)
        if topics:
            name = self.topics[topics[0]][lang]
            query = f"{name} 怎么办" if lang == "zh" else f"{name}: what to do"
            found = self._pick(self.search(query, 3 * k), top, lang, self._todo)
            parts.todo_evidence = index_of(found)
        return list(evidence.values())


def _near_signals(near: Resemblance) -> dict[str, float]:
    return {
        "examples_margin": round(near.margin, 4),
        "nearest_example_is_scam": float(near.nearest_label == "scam"),
        "nearest_example_similarity": round(near.nearest_similarity, 4),
    }
