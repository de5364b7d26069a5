"""The extractive generator: an answer built only from retrieved sentences, each cited.

Deterministic and offline. It leads with the answer to what was asked (bot/answer/ask_model.py):
a yes/no question ("靠谱吗", "is this legit?") gets a one-line verdict naming the pattern, a
victim's "怎么办" gets the steps first, a legal question the consequences, "where do I
report" the help channels, "how does it work" the description and the scammers' own words.
Then the sections that matter for that kind of question, in that order; every quoted
sentence ends in a [n] that points into the passage list it was given. Scammers' lines (the
常见话术 / What they say sections) appear only under their own label, never as facts. Fixed
wording comes from `prompts/compose.yaml`. It does not retrieve, call models, choose the
named pattern (the chain passes it in) or check safety.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable

from bot.answer.asks import AskClassifier, default_asks
from bot.answer.channels import Channel, OfficialChannels
from bot.answer.chunker import split_sentences
from bot.answer.lexical import Tokenizer
from bot.prompts import load_prompt
from bot.records import Passage
from bot.taxonomy import Taxonomy

FACT_SECTIONS = ("what", "flags", "consequences")
MAX_FACTS = 3
MAX_LURES = 2
MAX_TODO = 3
MAX_HELP = 2
# A step is chosen for sharing words with the question only from this many up: one shared
# word ("them") pulled a fragment like "Do not delete them." ahead of real steps.
MIN_SHARED_WORDS = 2

HELP_TOPIC = "reporting-and-help"  # where to get help: not a scam pattern

# The order of the answer's sections after its first line, per kind of question.
SECTION_ORDER = {
    "is_it_scam": ("facts", "todo", "lures", "help"),
    "what_now": ("todo", "help", "facts"),
    "legal": ("facts", "todo", "help"),
    "report": ("help", "todo", "facts"),
    "how_it_works": ("facts", "lures", "todo", "help"),
    "other": ("facts", "lures", "todo", "help"),
}
# Sections whose sentences lead the facts for a kind of question.
FACT_PREFERENCE = {"legal": "consequences", "is_it_scam": "flags", "how_it_works": "what"}


def pattern_topic(passages: list[Passage], lang: str) -> str | None:
    """The retrieval's guess at the pattern: the first topic of the best passage (in the
    answer's language when there is one), or None when that passage is about where to get
    help. The chain prefers the question-topic model's answer (bot/answer/topic_model.py)
    and falls back to this only without one.
    """
    same = [p for p in passages if p.chunk.lang == lang] or passages
    if not same or not same[0].chunk.topics or same[0].chunk.section == "help":
        return None
    topic = same[0].chunk.topics[0]
    return None if topic == HELP_TOPIC else topic


def pattern_rank(passage: Passage, pattern: str | None) -> int:
    """How well a passage stands for the named pattern: 0 when its article is mainly about it
    (first topic), 1 when the article also covers it, 2 otherwise. An answer is built around
    the best-ranked article, so a question on 职业背债 leads with the 职业背债 article even
    when an article on lending your ID card (which also lists 职业背债) ranks higher."""
    topics = passage.chunk.topics
    if not pattern or pattern not in topics:
        return 2
    return 0 if topics[0] == pattern else 1


class ExtractiveComposer:
    """passages + question -> answer text with [n] markers (1-based passage numbers)."""

    name = "extractive"

    def __init__(
        self,
        tokenizer: Tokenizer,
        taxonomy: Taxonomy,
        asks: AskClassifier | None = None,
        channels: OfficialChannels | None = None,
    ):
        """`channels`: the official lines and sites a question may ask to confirm (none: the
        answer never leads with "yes, it is official")."""
        self.tokenizer = tokenizer
        self.taxonomy = taxonomy
        self.asks = asks or default_asks()
        self.channels = channels

    def compose(
        self,
        question: str,
        lang: str,
        passages: list[Passage],
        pattern: str | None = "",
        ask: str = "",
    ) -> str:
        """`pattern` is the topic id the answer names (None: name none); the default ""
        means "use the best passage's topic" (`pattern_topic`). `ask` is what the question
        asks (`asks.KINDS`); "" classifies it here."""
        same = _in_language(passages, lang)
        if not same:
            return ""
        if pattern == "":
            pattern = pattern_topic(passages, lang)
        ask = ask or self.asks.classify(question, lang)
        # the article the answer is built around: the best one of the named pattern
        top = min(same, key=lambda np_: pattern_rank(np_[1], pattern))[1].chunk
        q_tokens = Counter(self.tokenizer.tokens(question))
        used: set[str] = set()

        def cite(n: int, sentence: str) -> str:
            used.add(sentence)
            return f"{sentence}[{n}]"

        lead = ""
        what = [
            (n, p) for n, p in same if p.chunk.doc_id == top.doc_id and p.chunk.section == "what"
        ]
        official = self._official(question, lang, same)
        if official:  # "是的，96110 是官方渠道。" then the passage that names it
            lead = cite(official[1], official[2])
        elif what:
            n, p = what[0]
            lead = cite(n, _first_sentence(p.text))
        facts = self._facts(same, q_tokens, used, cite, FACT_PREFERENCE.get(ask))
        # scammers' lines only from articles on the same pattern: another scam's lines
        # ("we were meant to find each other" in a task-scam answer) mislead
        kin = [(n, p) for n, p in same if set(p.chunk.topics) & set(top.topics)]
        lures = self._section_sentences(kin, top.doc_id, "lures", MAX_LURES, used, cite)
        todo = self._section_sentences(same, top.doc_id, "todo", MAX_TODO, used, cite, q_tokens)
        help_ = self._section_sentences(same, top.doc_id, "help", MAX_HELP, used, cite)
        return load_prompt("compose").render(
            lang,
            ask=ask,
            pattern=self._name(pattern, lang),
            channel=official[0].text if official else "",
            channel_kind=official[0].kind if official else "",
            lead=lead,
            order=list(SECTION_ORDER[ask]),
            facts=facts,
            lures=lures,
            todo=todo,
            help=help_,
        )

    def verdict(
        self,
        question: str,
        lang: str,
        passages: list[Passage],
        pattern: str | None = "",
        ask: str = "",
    ) -> str:
        """The answer's first line alone: the fixed words of `prompts/compose.yaml` that answer
        what was asked and name the pattern ("不靠谱，很可能是骗局：这是典型的「职业背债」。").
        A model's answer starts with it too (bot/answer/chain.py). "" when the template has no
        first line for this question (no pattern named and a yes/no, legal or how question)."""
        if pattern == "":
            pattern = pattern_topic(passages, lang)
        ask = ask or self.asks.classify(question, lang)
        official = self._official(question, lang, _in_language(passages, lang))
        text = load_prompt("compose").render(
            lang,
            ask=ask,
            pattern=self._name(pattern, lang),
            channel=official[0].text if official else "",
            channel_kind="",
            lead="",
            order=[],
        )
        return text.strip().splitlines()[0].strip() if text.strip() else ""

    def _official(
        self, question: str, lang: str, same: list[tuple[int, Passage]]
    ) -> tuple[Channel, int, str] | None:
        """The official channel the question asks to confirm, with the first passage sentence
        that names it (a help-section one first: "核实是否诈骗、提供线索：96110。"); None when
        no passage names it, so nothing unsourced is confirmed."""
        channel = self.channels.asked_about(question, lang) if self.channels else None
        if channel is None:
            return None
        found = [
            (p.chunk.section != "help", rank, n, s)
            for rank, (n, p) in enumerate(same)
            for s in split_sentences(p.text)
            if channel.found_in(s) and not _quoted(channel.text, s)  # “96110”: a fake one
        ]
        if not found:
            return None
        _, _, n, sentence = min(found)
        return channel, n, sentence

    def _name(self, pattern: str | None, lang: str) -> str:
        topic = self.taxonomy.topics.get(pattern) if pattern else None
        return topic.name(lang).split("/")[0].strip() if topic else ""

    def _facts(
        self,
        same: list[tuple[int, Passage]],
        q_tokens: Counter,
        used: set[str],
        cite: Callable[[int, str], str],
        prefer: str | None,
    ) -> list[str]:
        candidates: list[tuple[float, int, str]] = []
        for rank, (n, p) in enumerate(same):
            if p.chunk.section not in FACT_SECTIONS:
                continue
            bonus = 0.5 if prefer and p.chunk.section == prefer else 0.0
            for pos, s in enumerate(split_sentences(p.text)):
                if s in used or len(s) < 6:
                    continue
                score = self._overlap(q_tokens, s) + 0.3 / (1 + rank) + 0.05 / (1 + pos) + bonus
                candidates.append((score, n, s))
        facts: list[str] = []
        for _score, n, s in sorted(candidates, key=lambda t: (-t[0], t[1])):
            if s in used:
                continue
            facts.append(cite(n, s))
            if len(facts) >= MAX_FACTS:
                break
        return facts

    def _shared(self, q_tokens: Counter, sentence: str) -> int:
        """Words a step shares with the question, 0 below MIN_SHARED_WORDS."""
        s_tokens = self.tokenizer.token_set(sentence)  # once, not once per question word
        hits = sum(1 for t in q_tokens if t in s_tokens)
        return hits if hits >= MIN_SHARED_WORDS else 0

    def _overlap(self, q_tokens: Counter, sentence: str) -> float:
        s_tokens = self.tokenizer.token_set(sentence)
        if not s_tokens or not q_tokens:
            return 0.0
        return sum(1 for t in q_tokens if t in s_tokens) / math.sqrt(len(s_tokens))

    def _section_sentences(
        self, same, doc_id, section, limit, used, cite, q_tokens: Counter | None = None
    ) -> list[str]:
        """Up to `limit` sentences of one section, the main article's first. With `q_tokens`,
        the main article's sentences that share words with the question are chosen before
        the others (a question on checking the phone cards in your name gets the step that
        says how), and the chosen ones keep the article's order."""
        chosen = [(n, p) for n, p in same if p.chunk.section == section]
        chosen.sort(key=lambda np_: (np_[1].chunk.doc_id != doc_id, np_[1].chunk.n))
        # (reading position, passage number, sentence, from the main article)
        candidates = [
            (i, n, s, p.chunk.doc_id == doc_id)
            for i, (n, p, s) in enumerate(
                (n, p, s) for n, p in chosen for s in split_sentences(p.text)
            )
            if s not in used and len(s) >= 4
        ]
        own = [c for c in candidates if c[3]]
        if q_tokens and len(own) > limit:
            best = sorted(own, key=lambda c: (-self._shared(q_tokens, c[2]), c[0]))[:limit]
            candidates = sorted(best)  # back in reading order
        out: list[str] = []
        for _i, n, s, _own in candidates:
            if s in used:
                continue
            out.append(cite(n, s))
            if len(out) >= limit:
                break
        return out


def _in_language(passages: list[Passage], lang: str) -> list[tuple[int, Passage]]:
    """The numbered passages ([n] from 1) in the question's language, else all of them."""
    numbered = list(enumerate(passages, start=1))
    return [(n, p) for n, p in numbered if p.chunk.lang == lang] or numbered


def _quoted(text: str, sentence: str) -> bool:
    return any(f"{o}{text}{c}" in sentence for o, c in (("“", "”"), ('"', '"'), ("「", "」")))


def _first_sentence(text: str) -> str:
    parts = split_sentences(text)
    return parts[0] if parts else text.strip()
