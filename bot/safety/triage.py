"""Input triage: label every user message before retrieval.

Labels: `question` (normal), `urgent` (money or codes moving now), `harmful` (asks for help
to defraud, forge, launder, recruit debt-carriers, write lures, rent/sell accounts, evade
police, invade privacy), `injection` (override/extract the instructions, role-play and
jailbreak wrappers), `offtopic` (poems, stock tips, weather ...).

How a message is scored (all numbers live in bot/safety/triage_rules.yaml):
1. Rules. The text is normalised (NFKC, lower case, spaces inside Chinese removed) and each
   signal adds its `weight` to its label once if any of its regexes matches inside one
   sentence (never across 。！？!?.). A `boost` signal (e.g. "教我 / how to") counts only
   when another signal of the same label matched in the same sentence.
2. Nearest examples (only when `embed` is given). The message vector is compared with the
   labelled examples in bot/safety/triage_examples.yaml; among the k most similar, the
   similarity-weighted share of each label (its vote) counts above `embed.floor`:
   `weights[label] * (vote - floor) / (1 - floor)` is added, so a weak vote adds nothing.
3. `wrapper_adds`: when injection rules fired (role-play, "for educational purposes"), the
   harmful evidence is added to the injection total: a wrapper around a harmful goal.
4. Modifiers multiply the totals: victim language ("对方让我…", "is this a scam",
   "我被骗了") multiplies `harmful` by 0, so a victim is never refused, and drops the
   `victim_dampened` signals (threats or bribes aimed at the bot, which victims quote);
   a learner asking how the scammers work, with no first-person agency, deliverable or
   hypothetical actor (`learner`: its `unless` patterns), does the same; both are `shield`
   modifiers, which the intent model alone never overrules; protective intent halves
   `harmful`; a past event weakens `urgent`; in-domain words weaken `offtopic`. The urgency model (bot/safety/urgency.py) then makes the message
   `urgent` at `urgency.threshold`, or at `urgency.off_domain_threshold` when no in-domain
   word is present.
5. Intent model (bot/safety/intent.py, when given): the probability that the asker would do
   it to someone else, learned from labelled perpetrator / victim / learner rows. It makes
   the message `harmful` when it reaches `intent.threshold`, or `intent.guarded` when victim
   or protective language is present (so a victim's wording alone never decides it). With
   earlier user turns (`history`), the conversation read as one text counts too, once the
   message alone reaches `intent.context_floor` ("我做催收的" ... "怎么说能让他们害怕").
   A writer the urgency model is sure (`urgency.over_intent`) has money moving now is not
   refused on the model alone (no harm rule counted): the reply opens with the urgent steps;
   unless the intent model is surer still (`urgency.over_intent_ceiling`).
   The rules stay as explanations in `reasons`; a rule verdict of harmful stands unless the
   model's probability is below `intent.veto` (the rules matched words, not intent), except
   for `firm` signals, whose grammar is the intent ("how do I start a phishing scam").
6. The first label in `priority` whose total reaches its threshold wins; else `question`.

`Triage.score` is the winning total (for `question`: 1 minus the highest total/threshold
ratio, floored at 0). `Triage.reasons` lists every signal, embedding vote and modifier used.
For `injection`, `benign_remainder` is the message with the override clauses removed, when
what is left is an ordinary in-domain question (the caller may answer it).

Language: `detect_lang` (CJK ratio) lives in bot/lang.py and is re-exported here.
Not done here: answering, refusing (bot/safety/replies.py), PII (bot/safety/pii.py), output checks
(bot/safety/guard.py). No model is loaded and no file is read at import.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from bot.lang import detect_lang, normalize
from bot.model_cache import load_or_embed, vectors_path
from bot.safety.intent import IntentModel
from bot.safety.urgency import UrgencyModel, load_urgency_examples

__all__ = ["Label", "Rules", "Triage", "Triager", "detect_lang", "load_examples", "normalize"]

DATA_DIR = Path(__file__).resolve().parent
Embed = Callable[[list[str]], np.ndarray]

_SENTENCE = re.compile(r"[。！？!?\n]+|(?<=\.)\s+")
_CLAUSE = re.compile(r"([。！？!?\n；;，,：:]+|(?<=[.])\s+)")
_LEAD = re.compile(
    r"^[\s，,。.：:;；、]*(?:那么|然后|顺便问一下|顺便问下|顺便|另外|好了|好|so|now|also|and|then|ok|okay)?[\s，,：:]*",
    re.I,
)


ALSO_URGENT = "also:urgent"
DISTRESS = "distress"


class Label(StrEnum):
    QUESTION = "question"
    URGENT = "urgent"
    HARMFUL = "harmful"
    INJECTION = "injection"
    OFFTOPIC = "offtopic"


@dataclass(frozen=True)
class Triage:
    """The verdict on one message; `need` names the lawful-help angle for a refusal."""

    label: Label
    score: float
    reasons: tuple[str, ...]
    lang: str
    benign_remainder: str | None = None
    need: str | None = None

    @property
    def refused(self) -> bool:
        return self.label in (Label.HARMFUL, Label.INJECTION)

    @property
    def also_urgent(self) -> bool:
        """Another label won, but the message also says money or codes are moving now."""
        return ALSO_URGENT in self.reasons

    @property
    def distress(self) -> bool:
        """The person speaks of ending or harming their own life (`distress:` patterns)."""
        return DISTRESS in self.reasons


@dataclass(frozen=True)
class Signal:
    id: str
    label: Label
    weight: float
    patterns: tuple[re.Pattern[str], ...]
    boost: bool = False
    need: str | None = None
    strip: bool = False
    victim_dampened: bool = False
    firm: bool = False  # the intent model's veto does not drop it

    def matches(self, sentences: Sequence[str]) -> bool:
        """True when any pattern matches inside one sentence (never across sentences)."""
        return bool(self.where(sentences))

    def where(self, sentences: Sequence[str]) -> set[int]:
        """Indices of the sentences in which some pattern matches."""
        return {i for i, s in enumerate(sentences) if any(p.search(s) for p in self.patterns)}


@dataclass(frozen=True)
class Modifier:
    name: str
    factors: dict[Label, float]
    patterns: tuple[re.Pattern[str], ...]
    unless: tuple[re.Pattern[str], ...] = ()  # none of these may match
    shield: bool = False  # the intent model alone never refuses the message

    def matches(self, norm: str) -> bool:
        return any(p.search(norm) for p in self.patterns) and not any(
            p.search(norm) for p in self.unless
        )


@dataclass(frozen=True)
class Rules:
    """Signals, modifiers and thresholds read from triage_rules.yaml."""

    signals: tuple[Signal, ...]
    modifiers: tuple[Modifier, ...]
    thresholds: dict[Label, float]
    priority: tuple[Label, ...]
    embed_k: int = 7
    embed_floor: float = 0.0
    embed_weights: dict[Label, float] = field(default_factory=dict)
    wrapper_adds: dict[Label, Label] = field(default_factory=dict)
    intent: dict[str, float] = field(default_factory=dict)
    urgency: dict[str, float] = field(default_factory=dict)
    max_judged_chars: int = 8000  # a longer text is judged by its first and last halves
    distress: tuple[re.Pattern[str], ...] = ()  # thoughts of ending one's life (`distress:`)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rules:
        macros = {k: f"(?:{v})" for k, v in (data.get("macros") or {}).items()}

        def compile_all(patterns: Sequence[str]) -> tuple[re.Pattern[str], ...]:
            out = []
            for p in patterns:
                for name, body in macros.items():
                    p = p.replace(f"<{name}>", body)
                out.append(re.compile(p))
            return tuple(out)

        signals = tuple(
            Signal(
                id=s["id"],
                label=Label(s["label"]),
                weight=float(s["weight"]),
                patterns=compile_all(s["patterns"]),
                boost=bool(s.get("boost", False)),
                need=s.get("need"),
                strip=bool(s.get("strip", False)),
                victim_dampened=bool(s.get("victim_dampened", False)),
                firm=bool(s.get("firm", False)),
            )
            for s in data["signals"]
        )
        modifiers = tuple(
            Modifier(
                name=name,
                factors={Label(k): float(v) for k, v in m["factors"].items()},
                patterns=compile_all(m["patterns"]),
                unless=compile_all(m.get("unless", ())),
                shield=bool(m.get("shield", False)),
            )
            for name, m in data.get("modifiers", {}).items()
        )
        embed = data.get("embed", {})
        return cls(
            signals=signals,
            modifiers=modifiers,
            thresholds={Label(k): float(v) for k, v in data["thresholds"].items()},
            priority=tuple(Label(x) for x in data["priority"]),
            embed_k=int(embed.get("k", 7)),
            embed_floor=float(embed.get("floor", 0.0)),
            embed_weights={Label(k): float(v) for k, v in embed.get("weights", {}).items()},
            wrapper_adds={Label(k): Label(v) for k, v in (data.get("wrapper_adds") or {}).items()},
            intent={k: float(v) for k, v in (data.get("intent") or {}).items()},
            urgency={k: float(v) for k, v in (data.get("urgency") or {}).items()},
            max_judged_chars=int(data.get("max_judged_chars", 8000)),
            distress=compile_all(data.get("distress") or []),
        )

    @classmethod
    def from_yaml(cls, path: Path) -> Rules:
        return cls.from_dict(yaml.safe_load(Path(path).read_text(encoding="utf-8")))


def load_examples(path: Path) -> list[tuple[str, Label]]:
    """(text, label) pairs from triage_examples.yaml (`examples: {label: {lang: [...]}}`)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    pairs = [
        (text, Label(label))
        for label, by_lang in data["examples"].items()
        for texts in by_lang.values()
        for text in texts
    ]
    bad = [t for t, _ in pairs if not isinstance(t, str)]
    if bad:
        raise ValueError(f"{path}: examples must be strings (quote them): {bad[:3]}")
    return pairs


class Triager:
    """Classifies messages with rules, nearest labelled examples and the intent model."""

    def __init__(
        self,
        rules: Rules,
        examples: Sequence[tuple[str, Label | str]] = (),
        embed: Embed | None = None,
        intent: IntentModel | None = None,
        urgency: UrgencyModel | None = None,
        matrix_path: Path | None = None,
    ) -> None:
        self.rules = rules
        self.examples = [(t, Label(lbl)) for t, lbl in examples]
        self.embed = embed
        self.intent = intent
        self.urgency = urgency
        self._matrix: np.ndarray | None = None
        self.matrix_path = matrix_path  # example vectors on disk: a cold start reads them

    @classmethod
    def from_files(
        cls,
        data_dir: Path | None = None,
        embed: Embed | None = None,
        intent: bool | None = None,
        cache_dir: Path | None = None,
        embedder_id: str = "",
    ) -> Triager:
        """Build from `<data_dir>/triage_rules.yaml` and `triage_examples.yaml`. The intent
        model (trained on bot/safety/intent_sources.yaml) is on when `embed` is given, unless
        `intent=False`; it is kept in `cache_dir` (default: BOT_CACHE_DIR, `.data/cache`).
        With `embedder_id`, the example vectors are kept in `cache_dir` too."""
        data_dir = Path(data_dir) if data_dir else DATA_DIR
        rules = Rules.from_yaml(data_dir / "triage_rules.yaml")
        model = urgency = None
        from bot.config import Settings

        cache = cache_dir or (Settings.from_env().cache_dir if embed is not None else None)
        if intent if intent is not None else embed is not None:
            from bot.safety.intent_data import load_intent_examples

            model = IntentModel(load_intent_examples(), embed, cache_dir=cache)
            urgency = UrgencyModel(load_urgency_examples(), embed, cache_dir=cache)
        examples = load_examples(data_dir / "triage_examples.yaml")
        texts = [t for t, _ in examples]
        path = vectors_path(cache, "triage_examples", embedder_id, texts) if embed else None
        return cls(rules, examples, embed, model, urgency, path)

    def classify(
        self, text: str, lang: str | None = None, history: Sequence[dict] | None = None
    ) -> Triage:
        """Label one message (earlier turns in `history`); see the module docstring."""
        if len(text) > (most := self.rules.max_judged_chars):
            text = f"{text[: most // 2]}\n{text[-(most // 2) :]}"
        lang = lang or detect_lang(text)
        label, score, reasons, need = self._decide(text, history)
        remainder = self._benign_remainder(text) if label is Label.INJECTION else None
        return Triage(label, score, tuple(reasons), lang, remainder, need)

    # -- scoring -----------------------------------------------------------------------

    def _decide(
        self, text: str, history: Sequence[dict] | None = None
    ) -> tuple[Label, float, list[str], str | None]:
        norm = normalize(text)
        sentences = [x.strip() for x in _SENTENCE.split(norm) if x.strip()] or [norm]
        mods = [m for m in self.rules.modifiers if m.matches(norm)]
        victim = any(m.name == "victim" for m in mods)
        totals = {label: 0.0 for label in Label}
        reasons: list[str] = [DISTRESS] if any(r.search(norm) for r in self.rules.distress) else []
        needs: dict[Label, str] = {}
        where = {s.id: s.where(sentences) for s in self.rules.signals}
        hits = [s for s in self.rules.signals if where[s.id]]
        if victim:
            hits = [s for s in hits if not s.victim_dampened]
        primary: dict[Label, set[int]] = {}
        for s in hits:
            if not s.boost:
                primary.setdefault(s.label, set()).update(where[s.id])
        for s in hits:
            if s.boost and not where[s.id] & primary.get(s.label, set()):
                continue
            totals[s.label] += s.weight
            reasons.append(f"rule:{s.id}")
            if s.need and s.label not in needs:
                needs[s.label] = s.need
        if self.embed is not None and self.examples:
            floor = self.rules.embed_floor
            for label, value in self._votes(text).items():
                weight = self.rules.embed_weights.get(label, 0.0)
                if weight and value > floor:
                    totals[label] += weight * (value - floor) / (1.0 - floor)
                    reasons.append(f"embed:{label}={value:.2f}")
        p = None if self.intent is None else self._intent_p(text, history, reasons)
        if p is not None and p < self.rules.intent.get("veto", 0.0) and totals[Label.HARMFUL]:
            # the rules matched words; the asker is not acting (unless a firm rule says so)
            totals[Label.HARMFUL] = sum(
                s.weight for s in hits if s.firm and s.label is Label.HARMFUL
            )
            reasons.append("intent:veto")
        fired = {s.label for s in hits}
        for target, source in self.rules.wrapper_adds.items():
            if target in fired and totals[source] > 0:
                totals[target] += totals[source]
                reasons.append(f"wrapper:{target}+={source}")
        for m in mods:
            reasons.append(f"mod:{m.name}")
            for label, factor in m.factors.items():
                totals[label] *= factor
        thr = self.rules.thresholds
        in_domain = any(m.name == "domain" for m in mods)  # the model knows only scam talk
        p_urgent = None
        if self.urgency is not None and totals[Label.URGENT] < thr.get(Label.URGENT, 1.0):
            # with none of the domain words the model must be surer (it learned scam talk)
            limit = self.rules.urgency.get(
                "threshold" if in_domain else "off_domain_threshold", 1.01
            )
            if limit <= 1.0:
                p_urgent = self.urgency.probability(text)  # bot/safety/urgency.py
                reasons.append(f"urgency:{p_urgent:.2f}")
                if p_urgent >= limit:
                    totals[Label.URGENT] = thr.get(Label.URGENT, 1.0)
        guarded = any(m.name in ("victim", "protective") for m in mods)
        shield = next((m for m in mods if m.shield), None)
        # an off-topic request no harm rule matched (a poem, a toast) stays off-topic
        plain_offtopic = not totals[Label.HARMFUL] and totals[Label.OFFTOPIC] >= thr.get(
            Label.OFFTOPIC, 1.0
        )
        # the model never refuses a victim ("对方让我…", "is this a scam") or a learner asking how
        # the scammers work (the `shield` modifiers), and alone, with no harm rule behind it, it
        # must be surer (`model_only`): it over-refused victims' and learners' questions
        # written apart from its training data
        limit = self.rules.intent.get("guarded" if guarded else "threshold", 0.6)
        harm_rule = any(r.startswith("rule:harmful") for r in reasons)
        if not harm_rule:  # no harm rule counted
            limit = max(limit, self.rules.intent.get("model_only", limit))
        # the writer's own money or codes are moving now, as the urgency model is sure: with no
        # harm rule behind it the intent model does not refuse them (session 17: it refused
        # victims paying a "release fee" or a "security margin" at 0.65-0.67)
        moving_now = (
            not harm_rule
            and (p_urgent or 0.0) >= self.rules.urgency.get("over_intent", 1.01)
            and (p or 0.0) < self.rules.urgency.get("over_intent_ceiling", 1.01)
        )
        if plain_offtopic and p is not None:
            reasons.append("intent:offtopic")
        elif shield is not None and p is not None:
            reasons.append(f"intent:{shield.name}")
        elif moving_now and p is not None:
            reasons.append("intent:moving-now")
        elif p is not None and p >= limit:
            totals[Label.HARMFUL] = max(totals[Label.HARMFUL], thr.get(Label.HARMFUL, 1.0))
            needs.setdefault(Label.HARMFUL, "fraud")
        for label in self.rules.priority:
            if totals[label] >= thr.get(label, 1.0):
                if label is not Label.URGENT and totals[Label.URGENT] >= thr.get(Label.URGENT, 1.0):
                    reasons.append(ALSO_URGENT)  # money may be moving: steps first, whatever else
                return label, round(totals[label], 3), reasons, needs.get(label)
        ratio = max((totals[lbl] / thr.get(lbl, 1.0) for lbl in self.rules.priority), default=0)
        return Label.QUESTION, round(max(0.0, 1.0 - ratio), 3), reasons, None

    def _intent_p(self, text: str, history: Sequence[dict] | None, reasons: list[str]) -> float:
        """P(the asker would do it to someone else), with the conversation when it counts."""
        alone, whole = self.intent.probability(text, history)
        p = (
            whole
            if whole > alone and alone >= self.rules.intent.get("context_floor", 0.3)
            else alone
        )
        if p != alone:
            reasons.append(f"intent:context={whole:.2f}")
        reasons.append(f"intent:harmful={p:.2f}")
        return p

    def _votes(self, text: str) -> dict[Label, float]:
        """Similarity-weighted label shares among the k nearest examples."""
        if self._matrix is None:
            texts = [t for t, _ in self.examples]
            self._matrix = load_or_embed(self.matrix_path, len(texts), lambda: self.embed(texts))
        query = np.asarray(self.embed([text]), dtype=np.float32).reshape(-1)
        sims = self._matrix @ query
        top = np.argsort(-sims)[: self.rules.embed_k]
        votes: dict[Label, float] = {}
        for i in top:
            label = self.examples[int(i)][1]
            votes[label] = votes.get(label, 0.0) + max(float(sims[i]), 0.0)
        total = sum(votes.values()) or 1.0
        return {label: v / total for label, v in votes.items()}

    # -- benign remainder ----------------------------------------------------------------

    def _benign_remainder(self, text: str) -> str | None:
        """Text minus the clauses that carry override/extract/role-play signals, if benign."""
        strip = [s for s in self.rules.signals if s.strip]
        parts = _CLAUSE.split(text)
        kept: list[str] = []
        for i in range(0, len(parts), 2):
            clause, sep = parts[i], parts[i + 1] if i + 1 < len(parts) else ""
            if clause.strip() and not any(s.matches([normalize(clause + sep)]) for s in strip):
                kept.append(clause + sep)
        remainder = _LEAD.sub("", "".join(kept)).strip()
        if len(normalize(remainder)) < 4:
            return None
        label, _, reasons, _ = self._decide(remainder)
        in_domain = "mod:domain" in reasons
        if label in (Label.QUESTION, Label.URGENT) and in_domain:
            return remainder
        return None
