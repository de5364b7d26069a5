"""A bounded load run against /api/chat on loopback: N concurrent clients for T seconds.

Starts `python -m bot.cli serve` on 127.0.0.1 (extractive generator, a throw-away SQLite
database, the rate limit lifted) over the project's index, unless `--url` names a server
that is already running, which must be on a loopback address. Each client posts questions
from eval/datasets/ in turn, one at a time, until the time is up. Prints and writes a JSON
report: requests/s, latency p50/p95/p99/max, errors by kind, and the server's RSS (when this
script started the server, or `--pid` names it).

It never sends traffic anywhere but the loopback interface and stops by itself.
Usage:  .venv/bin/python eval/load_test.py [--clients 50] [--seconds 60] [--out FILE]
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

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT / "eval" / "datasets"
MAX_REQUESTS = 200_000  # a hard bound on top of the time limit


def questions() -> list[str]:
    out: list[str] = []
    for name, key in (("questions.jsonl", "question"), ("victim_questions.jsonl", "text")):
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


def start_server(port: int, db: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "BOT_GENERATOR": "extractive",
        "BOT_RATE_LIMIT": "1000000/minute",
        "BOT_DATABASE_URL": f"sqlite:///{db}",
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE"),
    }
    cmd = [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
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


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--url", help="an already running server (loopback only)")
    ap.add_argument("--pid", type=int, help="the running server's pid, for RSS")
    ap.add_argument("--port", type=int, default=7899)
    ap.add_argument("--out", type=Path, default=ROOT / "eval" / "reports" / "load_test.json")
    args = ap.parse_args()
    if not 0 < args.seconds <= 600 or not 0 < args.clients <= 500:
        raise SystemExit("keep it bounded: 0 < seconds <= 600, 0 < clients <= 500")

    proc = None
    url = args.url or f"http://127.0.0.1:{args.port}"
    require_loopback(url)
    with tempfile.TemporaryDirectory(prefix="antiscam-load-") as tmp:
        if not args.url:
            proc = start_server(args.port, Path(tmp) / "load.sqlite3")
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

            async def run() -> tuple[list[float], Counter, float]:
                sampler = asyncio.create_task(sample_rss())
                t0 = time.monotonic()
                lat, errs = await run_clients(url, args.clients, args.seconds, questions())
                elapsed = time.monotonic() - t0
                sampler.cancel()
                return lat, errs, elapsed

            latencies, errors, elapsed = asyncio.run(run())
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)

    ms = lambda v: round(v * 1000, 1) if v is not None else None  # noqa: E731
    report = {
        "clients": args.clients,
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
        "server_rss_mb": {
            "before": round(rss_before, 1) if rss_before else None,
            "peak": round(max(samples), 1) if samples else None,
            "end": round(samples[-1], 1) if samples else None,
        },
        "cpus": os.cpu_count(),
        "mode": "extractive",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
