"""Offline evaluation of the assistant: `antiscam eval` (see `runner.run_eval`).

One module per metric family (retrieval, answers, safety, check, latency), each with a
per-case `case_scores` and an aggregate `summarize`; `datasets` loads the labelled JSONL
sets, `gate` compares metrics with `eval/thresholds.yaml`, `report` writes the HTML page
and `judge` is the optional LLM judge. Nothing is loaded or built at import time.
"""
