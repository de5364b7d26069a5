"""Optional LLM judge: faithfulness and relevance of each in-scope answer, scored 1-5 -> 0..1.

Runs only with `antiscam eval --judge` and an OpenAI-compatible endpoint configured
(`OPENAI_BASE_URL` or a real `OPENAI_API_KEY`); off by default. The chat model comes from
`bot.answer.llm.make_chat_model` (the one place a backend is picked) and the wording from
`prompts/judge.yaml`. Judge scores go to `metrics["judge"]` and to each case's `judge` field,
apart from the offline metrics, and no floor in `eval/thresholds.yaml` uses them. A reply
that is not the expected JSON is counted as an error, never as a score.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from langchain_core.messages import HumanMessage, SystemMessage

from bot.evaluation.stats import mean, percentile
from bot.prompts import load_prompt

if TYPE_CHECKING:
    from langchain_core.language_models.chat_models import BaseChatModel

    from bot.config import Settings

JUDGED_KINDS = ("question", "victim", "adversarial")
_JSON = re.compile(r"\{.*\}", re.S)


def endpoint_configured(settings: Settings) -> bool:
    key = settings.openai_api_key.get_secret_value()
    return bool(settings.openai_base_url) or key not in ("", "not-needed")


def make_judge_model(settings: Settings) -> BaseChatModel:
    from bot.answer.llm import make_chat_model

    model = make_chat_model(settings.model_copy(update={"generator": "openai"}))
    assert model is not None
    return model


def parse_scores(reply: str) -> dict[str, Any]:
    """{"faithfulness", "relevance"} in 0..1 plus "reason"; raises ValueError otherwise."""
    m = _JSON.search(reply)
    if not m:
        raise ValueError("no JSON object in the judge reply")
    data = json.loads(m.group(0))
    out: dict[str, Any] = {}
    for key in ("faithfulness", "relevance"):
        score = float(data[key])
        if not 1 <= score <= 5:
            raise ValueError(f"{key} out of range: {score}")
        out[key] = round((score - 1) / 4, 4)
    out["reason"] = str(data.get("reason", ""))[:300]
    return out


def judge_one(
    model: BaseChatModel, question: str, answer: str, sources: list[dict[str, Any]]
) -> dict[str, Any]:
    prompt = load_prompt("judge")
    messages = [
        SystemMessage(prompt.render("system")),
        HumanMessage(prompt.render("user", question=question, answer=answer, sources=sources)),
    ]
    try:
        return parse_scores(str(model.invoke(messages).content))
    except Exception as exc:  # a bad reply or a failed call is an error, not a score
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}


def should_judge(result: dict[str, Any]) -> bool:
    answer = result.get("answer")
    return bool(answer) and result["kind"] in JUDGED_KINDS and not answer.get("refused")


def run_judge(
    model: BaseChatModel,
    results: list[dict[str, Any]],
    advance: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Judge the eligible results in place (`result["judge"]`) and return the summary."""
    for r in results:
        if not should_judge(r):
            continue
        sources = [{"n": c["n"], "quote": c["quote"]} for c in r["answer"]["citations"]]
        r["judge"] = judge_one(model, r["input"], r["answer"]["answer"] or "", sources)
        if advance:
            advance()
    return summarize(results)


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    judged = [r["judge"] for r in results if r.get("judge")]
    ok = [j for j in judged if "error" not in j]
    out: dict[str, Any] = {"n": len(judged), "errors": len(judged) - len(ok)}
    for key in ("faithfulness", "relevance"):
        values = [j[key] for j in ok]
        out[key] = {"mean": mean(values), "p5": percentile(values, 5)}
    return out
