"""One entry point for every front end: a user message in, an `Answer` out.

Order of work for each message: redact personal numbers (before anything is logged, retrieved
or sent to a remote model), triage, then either a refusal (harmful, injection), the off-topic
line (with the strongest red flag of the scam check that fires on the message, if any), the
scam check (task "check", or a pasted message asking "是诈骗吗 / is this a scam"), or the cited
answer chain; urgent messages get the right-now steps first. Someone who speaks
of ending their life gets support and the emergency number first (a request for a method gets
only that). A notice asks the
user not to share personal numbers when some were typed; they are never echoed back.
Front ends (CLI, batch, web) call only this. It does not render UI or store conversations.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from bot.answer.verify import markers
from bot.lang import detect_lang
from bot.records import Answer
from bot.safety.pii import contains_pii, redact
from bot.safety.replies import (
    distress_support,
    offtopic_reply,
    pii_notice,
    refusal,
    urgent_steps,
)
from bot.safety.triage import Label, Triage, Triager

if TYPE_CHECKING:
    from bot.app import Deps
    from bot.check.checker import Checker
    from bot.check.redflags import RedFlagRules

ROUTING = Path(__file__).resolve().parent / "routing.yaml"


class Responder:
    def __init__(self, deps: Deps, triager: Triager | None = None, checker: Checker | None = None):
        self.deps = deps
        self.triager = triager or Triager.from_files(
            embed=deps.embeddings.embed_queries_np,
            cache_dir=deps.settings.cache_dir,
            embedder_id=deps.embeddings.id,
        )
        self._checker = checker

    @cached_property
    def checker(self) -> Checker:
        if self._checker is None:
            from bot.check.checker import Checker
            from bot.check.examples import ExampleBank
            from bot.check.wording import WordingModel

            retriever = self.deps.retriever
            cache = self.deps.settings.cache_dir
            examples = ExampleBank.load(
                self.deps.embeddings.embed_queries_np,
                cache_dir=cache,
                embedder_id=self.deps.embeddings.id,
            )
            self._checker = Checker(
                self.deps.red_flags,
                self.deps.taxonomy,
                search=lambda text, k: retriever.vector_search(text, k),
                examples=examples,
                wording=WordingModel(examples.examples, cache_dir=cache),
            )
        return self._checker

    @cached_property
    def _routing(self) -> dict:
        data = yaml.safe_load(ROUTING.read_text(encoding="utf-8"))
        return {
            "asks": [re.compile(p, re.I) for p in data["asks"]],
            "pasted": [re.compile(p, re.I) for p in data["pasted"]],
        }

    def is_pasted_check(self, message: str) -> bool:
        """A pasted message with a question about it ("这条短信是真的吗？")."""
        r = self._routing
        asks = any(p.search(message) for p in r["asks"])
        return asks and any(p.search(message) for p in r["pasted"])

    # --- entry points ------------------------------------------------------------------
    def respond(
        self,
        message: str,
        history: list[dict] | None = None,
        lang: str | None = None,
        task: str = "chat",
    ) -> Answer:
        lang = lang if lang in ("zh", "en") else detect_lang(message)
        had_pii = contains_pii(message)
        clean = redact(message)
        history = [
            {"role": h.get("role", "user"), "content": redact(str(h.get("content", "")))}
            for h in (history or [])
        ]
        # the scam check reads the message as written and redacts its own quotes (bot/check/checker.py)
        if task == "check":
            answer = self.check(message, lang)
        else:
            answer = self._chat(clean, history, lang, pasted=message)
        if had_pii:
            answer.text = f"{answer.text}\n\n{pii_notice(lang)}"
        answer.extra["pii_redacted"] = had_pii
        return answer

    def stream(
        self,
        message: str,
        history: list[dict] | None = None,
        lang: str | None = None,
        task: str = "chat",
    ) -> Iterator[str | Answer]:
        """Text pieces, then the final Answer. Verified text only.

        A question (or an urgent one) for a model-backed chain streams from the chain: its
        sentences are released as they pass the guard (`AnswerChain.stream`), after the
        right-now steps when urgent. Everything else (refusals, checks, messages with personal
        numbers, the extractive chain) is answered whole and sent line by line."""
        lang = lang if lang in ("zh", "en") else detect_lang(message)
        triage = None
        if task == "chat" and self.deps.chain.llm is not None and not contains_pii(message):
            history = [
                {"role": h.get("role", "user"), "content": redact(str(h.get("content", "")))}
                for h in (history or [])
            ]
            triage = self.triager.classify(message, lang, history)
        if (
            triage is None
            or triage.label not in (Label.QUESTION, Label.URGENT)
            or triage.distress
            or (self.is_pasted_check(message))
        ):
            answer = self.respond(message, history, lang, task)
            yield from answer.text.splitlines(keepends=True)
            yield answer
            return
        prefix = f"{urgent_steps(lang)}\n\n" if triage.label is Label.URGENT else ""
        if prefix:
            yield prefix
        for item in self.deps.chain.stream(message, history, lang):
            if not isinstance(item, Answer):
                yield item
                continue
            answer = item
            if answer.extra.get("out_of_scope"):
                answer = self._offtopic(message, lang)
                yield answer
                return
            answer.grounded = grounding(answer)
            answer.text = prefix + answer.text
            answer.urgent = triage.label is Label.URGENT
            answer.triage = triage.label.value
            answer.extra["pii_redacted"] = False
            yield answer

    # --- routes ------------------------------------------------------------------------
    def _chat(
        self, message: str, history: list[dict], lang: str, pasted: str | None = None
    ) -> Answer:
        """`message` is redacted; `pasted` is the message as written, for the scam check only."""
        triage = self.triager.classify(message, lang, history)
        if triage.distress:  # support first; anything the knowledge base cannot answer, or a
            # request for a method, gets only the support (declined: `refused`)
            answer = None
            if triage.label in (Label.QUESTION, Label.URGENT):
                answer = self._route(message, history, lang, pasted, triage)
            if answer is not None and answer.triage != "offtopic":
                answer.text = f"{distress_support(lang)}\n\n{answer.text}"
            else:
                answer = Answer(text=distress_support(lang), lang=lang, mode="template")
                answer.refused, answer.triage = True, triage.label.value
            answer.urgent, answer.extra["distress"] = True, True
            return answer
        return self._route(message, history, lang, pasted, triage)

    def _route(
        self, message: str, history: list[dict], lang: str, pasted: str | None, triage: Triage
    ) -> Answer:
        if triage.label is Label.HARMFUL:
            return self._refuse(triage, lang)
        if triage.label is Label.INJECTION:
            if triage.benign_remainder:
                answer = self._answer(triage.benign_remainder, history, lang)
                answer.text = f"{refusal(triage, lang)}\n\n{answer.text}"
                if triage.also_urgent:  # money moving now: the steps first, as in `_refuse`
                    answer.text = f"{urgent_steps(lang)}\n\n{answer.text}"
                answer.refused, answer.triage = True, triage.label.value
                answer.urgent = triage.also_urgent
                return answer
            return self._refuse(triage, lang)
        if triage.label is Label.OFFTOPIC:
            return self._offtopic(message, lang)
        answer = self.check(pasted or message, lang) if self.is_pasted_check(message) else None
        if answer is None or answer.verdict == "legit":
            # no scam signal in the pasted text: the cited answer is more useful than "looks fine"
            checked, answer = answer, self._answer(message, history, lang)
            if checked is not None:
                answer.verdict, answer.extra["check"] = checked.verdict, checked.extra["check"]
        if triage.label is Label.URGENT:
            answer.text = f"{urgent_steps(lang)}\n\n{answer.text}"
            answer.urgent = True
        if answer.triage != "offtopic":  # out of the knowledge base's scope stays off-topic
            answer.triage = triage.label.value
        return answer

    def _refuse(self, triage: Triage, lang: str) -> Answer:
        """The refusal; when the message also says money is moving now, the right-now steps
        come first (they help a victim the intent model took for a perpetrator, and give a
        perpetrator nothing)."""
        text = refusal(triage, lang)
        if triage.also_urgent:
            text = f"{urgent_steps(lang)}\n\n{text}"
        return Answer(
            text=text,
            lang=lang,
            mode="template",
            refused=True,
            urgent=triage.also_urgent,
            triage=triage.label.value,
        )

    def _offtopic(self, message: str, lang: str) -> Answer:
        """The off-topic reply, with the strongest red flag of the scam check that fires on the
        message, if one does ("quick profit" in a stock tip): no pattern, no citations."""
        hits = self._red_flags.warnings(message)
        if not hits:
            return Answer(text=offtopic_reply(lang), lang=lang, mode="template", triage="offtopic")
        top = max(hits, key=lambda h: h.weight)
        answer = Answer(
            text=offtopic_reply(lang, top.label(lang), top.quote),
            lang=lang,
            mode="template",
            triage="offtopic",
        )
        answer.extra["red_flag"] = top.as_dict(lang)
        return answer

    @cached_property
    def _red_flags(self) -> RedFlagRules:
        """The scam check's red flags: the injected checker's, else the app's (without loading
        the check's example bank and wording model)."""
        return self._checker.flags if self._checker is not None else self.deps.red_flags

    def _answer(self, message: str, history: list[dict], lang: str) -> Answer:
        answer = self.deps.chain.answer(message, history, lang)
        if answer.extra.get("out_of_scope"):  # the knowledge base has nothing for this
            return self._offtopic(message, lang)
        answer.grounded = grounding(answer)
        return answer

    def check(self, text: str, lang: str) -> Answer:
        """The scam check on a pasted message: verdict, quoted red flags, cited evidence."""
        from bot.check.render import render_check

        result = self.checker.check(text, lang)
        body, citations = render_check(result, lang)
        answer = Answer(
            text=body,
            citations=citations,
            lang=lang,
            mode="check",
            verdict=result.verdict,
            topics=list(result.topics),
            triage="check",
        )
        answer.extra["check"] = result.to_dict()
        answer.grounded = grounding(answer)
        return answer


def grounding(answer: Answer) -> float | None:
    """Share of cited sentences supported by the passage they cite (token overlap)."""
    from bot.safety.guard import grounding_score

    quotes = {c.n: c.quote for c in answer.citations}
    sentences, cited = [], []
    for m in _CITED_SENTENCE.finditer(answer.text):
        sentences.append(m.group(1).strip().lstrip("-").strip())
        cited.append([quotes[n] for n in markers(m.group(2)) if n in quotes])
    return grounding_score(sentences, cited) if sentences else None


# A sentence (no line breaks, no brackets) and the run of [n] markers right after it.
_CITED_SENTENCE = re.compile(r"([^\[\]\n。！？!?]+[。！？!?.]?[”」』\"]?)\s*((?:\[\d+\])+)")
