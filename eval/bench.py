"""Run the benchmark (same as `antiscam bench`) and write eval/reports/bench.json."""

from bot.bench.run import run
from bot.config import ROOT, enforce_offline

if __name__ == "__main__":
    import json

    enforce_offline()
    print(json.dumps(run(ROOT / "eval/reports/bench.json"), ensure_ascii=False, indent=2))
