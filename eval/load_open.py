"""Open-loop load for eval/load_test.py: Poisson arrivals, question mixes, capacity steps.

`QuestionMix` picks what to send (`distinct`: never repeats; `realistic`: Zipf-like
popularity over the eval questions plus never-seen ones), `run_open` sends it at a fixed
Poisson rate to /api/chat, `run_capacity` steps the rate up for one or more servers back to
back. It starts no server and checks no address: `load_test.py` does both (loopback only).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable

import httpx

MAX_REQUESTS = 200_000  # a hard bound on top of the time limit
MAX_IN_FLIGHT = 1_000  # arrivals beyond this many unanswered count as errors
MAX_RATE = 1_000.0
P95_TARGET_S = 1.0


class QuestionMix:
    """The next question to send: `distinct` never repeats; `realistic` repeats popular
    eval questions (Zipf-like, exponent `zipf`) and sends a `new_share` of never-seen ones."""

    def __init__(
        self,
        qs: list[str],
        mix: str,
        seed: int = 0,
        zipf: float = 1.0,
        new_share: float = 0.2,
    ):
        self.rng = random.Random(seed)
        self.qs = list(qs)
        self.rng.shuffle(self.qs)  # popularity rank is a fixed random order of the questions
        self.mix, self.new_share = mix, new_share
        self.weights = [1.0 / (rank + 1) ** zipf for rank in range(len(self.qs))]
        self.sent = 0

    def never_seen(self) -> str:
        base = self.qs[self.sent % len(self.qs)]
        marker = f"（第{self.sent}问）" if detect_cjk(base) else f" (question {self.sent})"
        return base + marker

    def next(self) -> str:
        self.sent += 1
        if self.mix == "distinct" or self.rng.random() < self.new_share:
            return self.never_seen()
        return self.rng.choices(self.qs, weights=self.weights)[0]


def detect_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


async def run_open(
    url: str, rate: float, seconds: float, mix: QuestionMix, seed: int = 0
) -> tuple[list[float], Counter]:
    """Poisson arrivals at `rate`/s for `seconds`; latency from each scheduled arrival."""
    latencies: list[float] = []
    errors: Counter = Counter()
    rng = random.Random(seed)
    in_flight = 0
    limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:

        async def one(message: str, due: float) -> None:
            nonlocal in_flight
            try:
                r = await client.post("/api/chat", json={"message": message})
                if r.status_code == 200 and r.json().get("answer"):
                    latencies.append(time.perf_counter() - due)
                else:
                    errors[f"http {r.status_code}"] += 1
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] += 1
            finally:
                in_flight -= 1

        tasks: set[asyncio.Task] = set()
        start = time.perf_counter()
        due, sent = start, 0
        while sent < MAX_REQUESTS:
            due += rng.expovariate(rate)
            if due - start > seconds:
                break
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent += 1
            if in_flight >= MAX_IN_FLIGHT:
                errors["client overloaded"] += 1
                continue
            in_flight += 1
            task = asyncio.create_task(one(mix.next(), due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)
    return latencies, errors


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def ms(value: float | None) -> float | None:
    return round(value * 1000, 1) if value is not None else None


def step_report(latencies: list[float], errors: Counter, elapsed: float) -> dict:
    return {
        "seconds": round(elapsed, 1),
        "requests_ok": len(latencies),
        "errors": sum(errors.values()),
        "errors_by_kind": dict(errors),
        "requests_per_s": round(len(latencies) / elapsed, 2) if elapsed else None,
        "latency_ms": {
            "p50": ms(percentile(latencies, 50)),
            "p95": ms(percentile(latencies, 95)),
            "p99": ms(percentile(latencies, 99)),
            "max": ms(max(latencies) if latencies else None),
        },
    }


def passes(step: dict) -> bool:
    p95 = step["latency_ms"]["p95"]
    return step["errors"] == 0 and p95 is not None and p95 <= P95_TARGET_S * 1000


async def run_capacity(
    sides: dict[str, str], args: argparse.Namespace, questions: Callable[[], list[str]]
) -> dict:
    """Open-loop steps at rate, rate*factor, ...; at each rate every side (name -> url) runs
    in turn, back to back, with the same question sequence. A side stops after two failing
    steps in a row; its capacity is the highest rate that passed."""
    mixes = {
        name: QuestionMix(questions(), args.mix, args.seed, args.zipf, args.new_share)
        for name in sides
    }
    steps: dict[str, list[dict]] = {name: [] for name in sides}
    fails = dict.fromkeys(sides, 0)
    rate = args.rate
    for n in range(args.max_steps):
        for name, url in sides.items():
            if fails[name] >= 2:
                continue
            t0 = time.monotonic()
            lat, errs = await run_open(url, rate, args.seconds, mixes[name], seed=args.seed + n)
            step = {
                "rate": round(rate, 2),
                **step_report(lat, errs, time.monotonic() - t0),
            }
            step["pass"] = passes(step)
            fails[name] = 0 if step["pass"] else fails[name] + 1
            steps[name].append(step)
            print(json.dumps({"side": name, **step}), file=sys.stderr, flush=True)
            await asyncio.sleep(2)  # let the queue drain between steps
        if all(f >= 2 for f in fails.values()):
            break
        rate = min(rate * args.factor, MAX_RATE)
    out: dict = {}
    for name in sides:
        ok = [s["rate"] for s in steps[name] if s["pass"]]
        out[name] = {"capacity_rps": max(ok) if ok else 0.0, "steps": steps[name]}
    return out
