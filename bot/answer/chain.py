"""The answer chain (LCEL): retrieve -> generate -> verify, with a guaranteed fallback.

`AnswerChain.answer()` returns an `Answer`; `stream()` yields text pieces and then the final
`Answer`. The extractive composer is the default and the fallback for the `openai` generator:
an error, a timeout, or an answer with no valid citation falls back, and the response says so
(`mode`, `notice`). A model writes only the sections of its answer: the first line, the
verdict that answers what was asked and names the pattern, is the composer's fixed wording
(the same line the extractive answer starts with). A model answer cut at the token limit is
kept up to its last whole sentence when that still passes every check. Follow-ups are
retrieved with the previous user turn. Safety triage runs in `responder.py` before this
chain. This module never imports a UI or a database.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableLambda

from bot.answer.cited import all_clear_verdict, check_sentences, verdict_text
from bot.answer.compose import ExtractiveComposer, pattern_rank, pattern_topic
from bot.answer.llm import AnswerCutOff, LLMGenerator, model_passages
from bot.answer.model_text import (
    MIN_CUT_SENTENCES,
    complete_sentences,
    whole_sentences,
    without_repeated_verdict,
)
from bot.answer.retrieve import Retriever
from bot.answer.topic_model import NamedPattern
from bot.answer.verify import Verified, verify_citations
from bot.lang import detect_lang
from bot.prompts import load_prompt
from bot.records import Answer, Passage

log = logging.getLogger(__name__)
EXPAND_SECTIONS = ("what", "todo", "help")
SHORT_FOLLOWUP = {"zh": 30, "en": 14}  # characters (zh) / words (en)


@dataclass
class Turn:
    """Everything one request carries through the chain."""

    question: str
    lang: str
    history: list[dict]
    query: str = ""
    passages: list[Passage] | None = None
    text: str = ""
    mode: str = "extractive"
    notice: str | None = None
    guard: Any = None  # optional output checker: callable(turn) -> list[str] problems
    rejected: list[str] | None = None  # why a model answer was not used, when it was not
    pattern: str | None = ""  # the topic the answer names; "" = the best passage's (no model)
    out_of_scope: bool = False  # the question-topic model says the knowledge base has nothing
    shown: list[Passage] | None = None  # the passages the model was shown (its [n] numbering)
    ask: str = ""  # what the question asks (the composer's classifier), once it is needed
    cut: bool = False  # the model stopped at the token limit: `text` is its whole sentences
    verdict: str = ""  # the first line the chain wrote for a model's answer (prompts/compose.yaml)
    repairs: dict | None = None  # what the guard mended in the model's text (bot/answer/cited.py)


class AnswerChain:
    def __init__(
        self,
        retriever: Retriever,
        composer: ExtractiveComposer,
        llm: LLMGenerator | None = None,
        guard: Any = None,
        namer: Callable[[str], NamedPattern] | None = None,
    ):
        """`namer` (bot/answer/topic_model.PatternNamer) picks the pattern an answer names,
        or says the question is outside the knowledge base; without it the best passage's
        topic is named, as before."""
        self.retriever = retriever
        self.composer = composer
        self.llm = llm
        self.guard = guard
        self.namer = namer
        self.runnable = (
            RunnableLambda(self._retrieve, name="retrieve")
            | RunnableLambda(self._generate, name="generate")
            | RunnableLambda(self._verify, name="verify")
        )

    # --- public ------------------------------------------------------------------------
    def answer(
        self, question: str, history: list[dict] | None = None, lang: str | None = None
    ) -> Answer:
        return self.runnable.invoke(self._turn(question, history, lang))

    def stream(
        self, question: str, history: list[dict] | None = None, lang: str | None = None
    ) -> Iterator[str | Answer]:
        """Text pieces as they are ready, then the final Answer.

        Extractive answers stream line by line. A model's answer starts with the chain's own
        first line (the verdict of `prompts/compose.yaml`, shown before the model starts);
        the model's sections follow, released sentence by sentence, each once the text up to
        it passes the same checks as a whole answer (`_check_model_text`); a sentence is
        released only when the next one has begun, so a late [n] can still be moved back.
        When a later sentence fails (the model is then stopped) or the model fails, nothing
        more is released and the final Answer is the extractive one with its notice: front
        ends show the final Answer in place of the pieces (a verified prefix, never unchecked
        text). Cut off at the token limit, the answer ends at its last whole sentence.
        """
        if self.llm is None:
            answer = self.answer(question, history, lang)
            yield from answer.text.splitlines(keepends=True)
            yield answer
            return
        turn = self._retrieve(self._turn(question, history, lang))
        if not turn.passages:
            yield self._verify(turn)
            return
        turn.shown = model_passages(turn.passages, turn.lang)
        turn.verdict = self._verdict(turn)
        raw, shown_text, ready_before = "", "", ""
        if turn.verdict:  # the chain's own first line: shown before the model starts
            shown_text = f"{turn.verdict}\n"
            yield shown_text
        pieces = self.llm.stream(
            turn.question, turn.lang, turn.shown, turn.history, self.pattern_name(turn),
            turn.verdict,
        )  # fmt: skip
        try:
            for piece in pieces:
                raw += piece
                ready = complete_sentences(raw)
                if len(ready) <= len(ready_before) or not ready.strip():
                    continue
                ready_before = ready
                checked, problems = self._check_model_text(turn, ready, whole=False)
                if problems:  # stop the model now: the answer cannot be shown whole
                    raw = ready  # _verify finds the same problems in it
                    pieces.close()
                    break
                text = checked.text.rstrip()
                if text.startswith(shown_text) and len(text) > len(shown_text):
                    yield text[len(shown_text) :]
                    shown_text = text
            turn.text, turn.mode = raw, self.llm.name
        except AnswerCutOff as exc:  # unfinished: its whole sentences are checked in _verify
            turn.text, turn.mode, turn.cut = whole_sentences(exc.text), self.llm.name, True
        except Exception as exc:  # timeouts, connection errors, a server gone mid-stream
            log.warning("LLM generation failed, falling back to extractive: %s", exc)
            turn.notice = notice("llm_failed", turn.lang)
            turn.text = self._compose(turn, turn.passages)
            turn.mode = "extractive"
        answer = self._verify(turn)
        if answer.mode != "extractive" and answer.text.startswith(shown_text):
            rest = answer.text[len(shown_text) :]
            if rest:
                yield rest
        elif not shown_text:  # nothing shown yet: the fallback streams line by line
            yield from answer.text.splitlines(keepends=True)
        answer.extra["streamed"] = shown_text
        yield answer

    # --- steps -------------------------------------------------------------------------
    def _turn(self, question: str, history: list[dict] | None, lang: str | None) -> Turn:
        lang = lang if lang in ("zh", "en") else detect_lang(question)
        return Turn(question=question, lang=lang, history=list(history or []))

    def retrieval_query(self, turn: Turn) -> str:
        """The question, plus the previous user turn when the question is a short follow-up."""
        previous = [h.get("content", "") for h in turn.history if h.get("role") == "user"]
        size = len(turn.question) if turn.lang == "zh" else len(turn.question.split())
        if previous and size <= SHORT_FOLLOWUP[turn.lang]:
            return f"{previous[-1]}\n{turn.question}"
        return turn.question

    def _retrieve(self, turn: Turn) -> Turn:
        turn.query = self.retrieval_query(turn)
        if self.namer is not None:
            named = self.namer(turn.query)
            if named.out_of_scope:
                turn.out_of_scope, turn.passages, turn.pattern = True, [], None
                return turn
            turn.pattern = named.topic
        passages = self.retriever.search(turn.query, lang=turn.lang)
        if turn.pattern and not any(turn.pattern in p.chunk.topics for p in passages):
            # the search missed the named pattern (probability >= fetch_floor): fetch its passages
            own = (
                self.retriever.search(turn.query, turn.lang, 2, turn.pattern) if named.fetch else []
            )
            if own:
                passages = own + passages[: max(0, len(passages) - len(own))]
            else:
                turn.pattern = None  # never name a pattern the answer cannot cite
        turn.passages = self._expand(passages, turn.lang, turn.pattern)
        return turn

    def _expand(
        self, passages: list[Passage], lang: str, pattern: str | None = None
    ) -> list[Passage]:
        """Add what-to-do / where-to-get-help of the best article (of the named pattern,
        when there is one), so they can be cited."""
        if not passages:
            return passages
        same = [p for p in passages if p.chunk.lang == lang] or passages
        best = min(same, key=lambda p: pattern_rank(p, pattern))
        have = {p.chunk.chunk_id for p in passages}
        extra = [
            p
            for p in self.retriever.sections_of(best.chunk.doc_id, EXPAND_SECTIONS)
            if p.chunk.chunk_id not in have
        ]
        return passages + extra

    def _generate(self, turn: Turn) -> Turn:
        if not turn.passages:
            turn.text = ""
            return turn
        if self.llm is not None:
            turn.shown = model_passages(turn.passages, turn.lang)
            turn.verdict = self._verdict(turn)
            try:
                turn.text = self.llm.generate(
                    turn.question,
                    turn.lang,
                    turn.shown,
                    turn.history,
                    pattern=self.pattern_name(turn),
                    verdict=turn.verdict,
                )
                turn.mode = self.llm.name
                return turn
            except AnswerCutOff as exc:  # unfinished: its whole sentences are checked in _verify
                turn.text, turn.mode, turn.cut = whole_sentences(exc.text), self.llm.name, True
                return turn
            except Exception as exc:  # timeouts, connection errors, bad responses
                log.warning("LLM generation failed, falling back to extractive: %s", exc)
                turn.notice = notice("llm_failed", turn.lang)
        turn.text = self._compose(turn, turn.passages)
        turn.mode = "extractive"
        return turn

    def _ask(self, turn: Turn) -> str:
        if not turn.ask:
            turn.ask = self.composer.asks.classify(turn.question, turn.lang)
        return turn.ask

    def _compose(self, turn: Turn, passages: list[Passage] | None) -> str:
        return self.composer.compose(
            turn.question, turn.lang, passages or [], turn.pattern, self._ask(turn)
        )

    def _verdict(self, turn: Turn) -> str:
        """The first line of a model's answer, written here, not by the model: the same fixed
        words the extractive answer starts with (a small model once opened "是的，停息挂账是
        真的。"). The model writes the sections after it."""
        return self.composer.verdict(
            turn.question, turn.lang, turn.passages or [], turn.pattern, self._ask(turn)
        )

    def pattern_name(self, turn: Turn) -> str:
        """The display name of the pattern the answer names ("" when none)."""
        topic = (
            pattern_topic(turn.passages or [], turn.lang) if turn.pattern == "" else turn.pattern
        )
        found = self.composer.taxonomy.topics.get(topic) if topic else None
        return found.name(turn.lang).split("/")[0].strip() if found else ""

    def _check_model_text(
        self, turn: Turn, text: str, whole: bool = True
    ) -> tuple[Verified, list[str]]:
        """A model's text (whole, or a prefix of whole sentences while streaming): late
        markers repaired when provable, every sentence against what it cites, markers
        renumbered by article, then the output guard (numbers, URLs, amounts, promises,
        grounding). A prefix may have no marker yet (one may end its line later); a whole
        answer must cite."""
        shown = turn.shown or turn.passages or []
        pattern = self.pattern_name(turn)
        problems = ["first line calls it real or safe"] if all_clear_verdict(text) else []
        text = without_repeated_verdict(text, turn.verdict)
        sentences = check_sentences(
            text, shown, pattern, turn.question, partial=not whole, verdict=turn.verdict,
            examples=self.llm.example_answers() if self.llm else (),
        )  # fmt: skip
        problems += sentences.problems
        checked = verify_citations(sentences.text, shown)
        if not whole and not sentences.sentences:  # all dropped so far: nothing to judge yet
            return self._with_verdict(turn, checked), problems
        if whole and not checked.citations:
            problems.append("no valid citation")
        if whole and turn.cut and sentences.sentences < MIN_CUT_SENTENCES:
            problems.append("answer cut off at the token limit (BOT_LLM_MAX_TOKENS)")
        if whole:
            turn.repairs = {
                "moved": sentences.repaired,
                "repointed": sentences.repointed,
                "dropped": sentences.dropped,
            }
        if self.guard is not None:
            # against what the model was shown (every sentence was already checked against
            # what it cites, above); the first line may name the pattern and say "不靠谱"
            extra = verdict_text(pattern)
            sources = [p.text + extra for p in shown]
            problems.extend(self.guard(checked.text, sources))
        return self._with_verdict(turn, checked), problems

    @staticmethod
    def _with_verdict(turn: Turn, checked: Verified) -> Verified:
        """The checked model text after the chain's own first line (no marker: it cites
        nothing)."""
        if not turn.verdict:
            return checked
        return dataclasses.replace(checked, text=f"{turn.verdict}\n{checked.text}")

    def _verify(self, turn: Turn) -> Answer:
        passages = turn.passages or []
        if not passages:
            answer = Answer(
                text=notice("no_passages", turn.lang),
                lang=turn.lang,
                mode="extractive",
                notice=notice("no_passages", turn.lang),
            )
            answer.extra["out_of_scope"] = turn.out_of_scope
            return answer
        problems: list[str] = list(turn.rejected or [])
        if turn.mode != "extractive":
            checked, found = self._check_model_text(turn, turn.text)
            problems.extend(found)
        else:
            checked = verify_citations(turn.text, passages)
        if problems:
            log.warning(
                "LLM answer rejected (%s); using the extractive answer", "; ".join(problems)
            )
            turn.text = self._compose(turn, passages)
            turn.mode = "extractive"
            turn.notice = notice("llm_unverified", turn.lang)
            checked = verify_citations(turn.text, passages)
        cited = [t for c in checked.citations for t in c.topics]
        named = pattern_topic(passages, turn.lang) if turn.pattern == "" else turn.pattern
        # the pattern the answer names comes first; then the cited articles' topics
        topics = list(dict.fromkeys(([named] if named in cited else []) + cited))
        answer = Answer(
            text=checked.text.strip(),
            citations=checked.citations,
            lang=turn.lang,
            mode=turn.mode,
            notice=turn.notice,
            topics=topics,
        )
        answer.extra["passages"] = passages
        answer.extra["shown"] = turn.shown  # what the model saw (None: no model call)
        answer.extra["pattern"] = named if named in cited else None  # the pattern it names
        answer.extra["removed_markers"] = checked.removed
        answer.extra["rejected"] = problems
        answer.extra["ask"] = self._ask(turn)  # what the answer took the question to ask
        answer.extra["cut_off"] = turn.cut  # a model answer ended at its last whole sentence
        answer.extra["citation_repairs"] = turn.repairs if turn.mode != "extractive" else None
        return answer


def notice(kind: str, lang: str) -> str:
    return load_prompt("notices").render(lang, kind=kind)
