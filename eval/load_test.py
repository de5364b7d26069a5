"""Bounded load runs against /api/chat on loopback: closed loop, open loop, capacity.

Starts `python -m bot.cli serve` on 127.0.0.1 (extractive generator, a throw-away SQLite
database, the rate limit lifted) over the project's index, unless `--url` names a server
that is already running, which must be on a loopback address. `--features off` starts it
with the answer cache and query micro-batching switched off (today's behaviour), so old and
new can be compared in one run, back to back.

- `closed` (default): N clients each post the next question the instant an answer arrives.
- `open --rate R`: Poisson arrivals at R requests/s whatever the server does (like real
  users); latency counts from the scheduled arrival, so queueing shows.
- `capacity`: open-loop steps at rising rates; capacity = the highest rate whose step had
  p95 <= 1 s and no errors.
Question mixes (`open`, `capacity`): `distinct` (every request a question never sent
before) or `realistic` (Zipf-like popularity over the eval questions, plus a share of
never-seen ones). Prints and writes a JSON report with latency p50/p95/p99/max, errors by
kind and the server's RSS (when this script started it, or `--pid` names it).

It never sends traffic anywhere but the loopback interface and stops by itself.
Usage:  .venv/bin/python eval/load_test.py [closed|open|capacity] [--mix realistic] ...
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from load_open import (
    MAX_RATE,
    MAX_REQUESTS,
    QuestionMix,
    run_capacity,
    run_open,
    step_report,
)

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT / "eval" / "datasets"
FEATURES_OFF = {"BOT_ANSWER_CACHE_SIZE": "0", "BOT_EMBED_BATCH_WINDOW_MS": "0"}


def questions() -> list[str]:
    out: list[str] = []
    for name, key in (
        ("questions.jsonl", "question"),
        ("victim_questions.jsonl", "text"),
    ):
        for line in (DATASETS / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line)[key])
    return out


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def require_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise SystemExit(f"refusing to load {host}: only loopback addresses are allowed")


def start_server(port: int, db: Path, features: str = "on") -> subprocess.Popen:
    env = {
        **os.environ,
        **(FEATURES_OFF if features == "off" else {}),
        "BOT_GENERATOR": "extractive",
        "BOT_RATE_LIMIT": "1000000/minute",
        "BOT_DATABASE_URL": f"sqlite:///{db}",
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE"),
    }
    cmd = [
        sys.executable,
        "-m",
        "bot.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def wait_ready(url: str, proc: subprocess.Popen | None, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(
                "the server exited during start-up (is the index built? `antiscam ingest`)"
            )
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise SystemExit("the server did not become ready")


async def run_clients(
    url: str, clients: int, seconds: float, qs: list[str]
) -> tuple[list[float], Counter]:
    latencies: list[float] = []
    errors: Counter = Counter()
    stop_at = time.monotonic() + seconds
    counter = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:

        async def worker(offset: int) -> None:
            nonlocal counter
            i = offset
            while time.monotonic() < stop_at and counter < MAX_REQUESTS:
                counter += 1
                message = qs[i % len(qs)]
                i += clients
                t0 = time.perf_counter()
                try:
                    r = await client.post("/api/chat", json={"message": message})
                    if r.status_code == 200 and r.json().get("answer"):
                        latencies.append(time.perf_counter() - t0)
                    else:
                        errors[f"http {r.status_code}"] += 1
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] += 1

        await asyncio.gather(*(worker(n) for n in range(clients)))
    return latencies, errors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", nargs="?", choices=("closed", "open", "capacity"), default="closed")
    ap.add_argument("--clients", type=int, default=50, help="closed loop: concurrent clients")
    ap.add_argument("--seconds", type=float, default=60, help="run (or, capacity: step) length")
    ap.add_argument("--rate", type=float, default=10, help="open: arrivals/s; capacity: first")
    ap.add_argument("--factor", type=float, default=1.25, help="capacity: rate step factor")
    ap.add_argument("--max-steps", type=int, default=12)
    ap.add_argument("--mix", choices=("distinct", "realistic"), default="realistic")
    ap.add_argument("--new-share", type=float, default=0.2, help="realistic: never-seen share")
    ap.add_argument("--zipf", type=float, default=1.0, help="realistic: popularity exponent")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--features",
        choices=("on", "off", "both"),
        default="on",
        help="both (capacity only): two servers, features off and on, stepped back to back",
    )
    ap.add_argument("--url", help="an already running server (loopback only)")
    ap.add_argument("--pid", type=int, help="the running server's pid, for RSS")
    ap.add_argument("--port", type=int, default=7899)
    ap.add_argument("--out", type=Path, default=ROOT / "eval" / "reports" / "load_test.json")
    args = ap.parse_args()
    if not 0 < args.seconds <= 600 or not 0 < args.clients <= 500:
        raise SystemExit("keep it bounded: 0 < seconds <= 600, 0 < clients <= 500")
    if not 0 < args.rate <= MAX_RATE or not 1 < args.factor <= 4 or not 0 < args.max_steps <= 30:
        raise SystemExit("keep it bounded: 0 < rate <= 1000, 1 < factor <= 4, max-steps <= 30")

    proc = None
    url = args.url or f"http://127.0.0.1:{args.port}"
    require_loopback(url)
    with tempfile.TemporaryDirectory(prefix="antiscam-load-") as tmp:
        if args.features == "both":
            if args.url or args.mode != "capacity":
                raise SystemExit("--features both starts its own two servers, capacity mode only")
            return compare(args, Path(tmp))
        if not args.url:
            proc = start_server(args.port, Path(tmp) / "load.sqlite3", args.features)
        pid = proc.pid if proc else args.pid
        try:
            wait_ready(url, proc)
            httpx.post(f"{url}/api/chat", json={"message": "warm-up 预热"}, timeout=120)
            rss_before = rss_mb(pid) if pid else None
            samples: list[float] = []

            async def sample_rss() -> None:
                while pid:
                    value = rss_mb(pid)
                    if value:
                        samples.append(value)
                    await asyncio.sleep(1)

            async def run() -> dict:
                sampler = asyncio.create_task(sample_rss())
                t0 = time.monotonic()
                mix = QuestionMix(questions(), args.mix, args.seed, args.zipf, args.new_share)
                if args.mode == "capacity":
                    result = (await run_capacity({args.features: url}, args, questions))[
                        args.features
                    ]
                else:
                    if args.mode == "open":
                        lat, errs = await run_open(url, args.rate, args.seconds, mix, args.seed)
                    else:
                        lat, errs = await run_clients(url, args.clients, args.seconds, questions())
                    result = step_report(lat, errs, time.monotonic() - t0)
                sampler.cancel()
                return result

            result = asyncio.run(run())
            metrics = httpx.get(f"{url}/metrics", timeout=10).text if proc else ""
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)

    report = {
        "mode": args.mode,
        **({"clients": args.clients} if args.mode == "closed" else {"mix": args.mix}),
        **({"rate": args.rate} if args.mode == "open" else {}),
        "features": args.features,
        **result,
        "server_rss_mb": {
            "before": round(rss_before, 1) if rss_before else None,
            "peak": round(max(samples), 1) if samples else None,
            "end": round(samples[-1], 1) if samples else None,
        },
        "cache": {
            k: v for k, v in scraped(metrics).items() if k.startswith("antiscam_answer_cache")
        },
        "embed_batches": {
            k: v for k, v in scraped(metrics).items() if k.startswith("antiscam_embed_batch_size")
        },
        "cpus": os.cpu_count(),
        "generator": "extractive",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))


def compare(args: argparse.Namespace, tmp: Path) -> None:
    """Capacity of today's behaviour (features off) and the new one, in the same run."""
    ports = {"off": args.port, "on": args.port + 1}
    procs = {f: start_server(p, tmp / f"load-{f}.sqlite3", f) for f, p in ports.items()}
    urls = {f: f"http://127.0.0.1:{p}" for f, p in ports.items()}
    peak = dict.fromkeys(procs, 0.0)
    try:
        for f, url in urls.items():
            wait_ready(url, procs[f])
            httpx.post(f"{url}/api/chat", json={"message": "warm-up 预热"}, timeout=120)
        before = {f: rss_mb(p.pid) for f, p in procs.items()}

        async def run() -> dict:
            async def sample() -> None:
                while True:
                    for f, p in procs.items():
                        peak[f] = max(peak[f], rss_mb(p.pid) or 0.0)
                    await asyncio.sleep(1)

            sampler = asyncio.create_task(sample())
            result = await run_capacity(urls, args, questions)
            sampler.cancel()
            return result

        result = asyncio.run(run())
        metrics = {f: scraped(httpx.get(f"{u}/metrics", timeout=10).text) for f, u in urls.items()}
    finally:
        for p in procs.values():
            p.terminate()
            p.wait(timeout=30)
    off, on = result["off"]["capacity_rps"], result["on"]["capacity_rps"]
    report = {
        "mode": "capacity",
        "mix": args.mix,
        "features": "both",
        "capacity_rps": {
            "off": off,
            "on": on,
            "ratio": round(on / off, 2) if off else None,
        },
        "server_rss_mb": {f: {"before": before[f], "peak": round(peak[f], 1)} for f in procs},
        "cache": {k: v for k, v in metrics["on"].items() if "answer_cache" in k},
        "embed_batches": {k: v for k, v in metrics["on"].items() if "embed_batch" in k},
        "sides": result,
        "cpus": os.cpu_count(),
        "generator": "extractive",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k != "sides"}, indent=2))


def scraped(text: str) -> dict[str, float]:
    """Un-labelled and `le`-labelled samples of a Prometheus text page, by name."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            try:
                out[name] = float(value)
            except ValueError:
                continue
    return out


if __name__ == "__main__":
    main()
