# Two commands: `make run` and `make test`. Both set everything up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup run index test lint format eval bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# The CPU build of torch first, pinned: an unpinned torch pulls a multi-GB CUDA build.
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# Ingest knowledge/ when the index is missing or stale (incremental: only changes are embedded).
index: setup
	@$(BIN)/antiscam index-status >/dev/null 2>&1 || $(BIN)/antiscam ingest

# The main job: the web server (Gradio chat at /, JSON API, widget). `antiscam chat` is the terminal UI.
run: index
	$(BIN)/antiscam serve

bench: index
	$(BIN)/antiscam bench

lint: setup
	$(BIN)/ruff check bot tests eval
	$(BIN)/ruff format --check bot tests eval
	$(BIN)/antiscam lint

format: setup
	$(BIN)/ruff format bot tests eval
	$(BIN)/ruff check --fix bot tests eval

# Debian's Chromium for the browser tests (Playwright drives it; never `playwright install`),
# with CJK and emoji fonts for readable screenshots. Does nothing when Chromium is there.
.PHONY: browser
browser:
	@test -x /usr/bin/chromium || (apt-get update -q && DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y -q chromium chromium-driver fonts-noto-cjk fonts-noto-color-emoji)

test: setup browser
	$(BIN)/ruff check bot tests eval
	$(BIN)/antiscam lint
	$(BIN)/pytest -q
	# the offline eval gate: exits non-zero below any floor in eval/thresholds.yaml
	$(MAKE) --no-print-directory index
	$(BIN)/antiscam eval --check --out eval/reports/latest

eval: index
	$(BIN)/antiscam eval --out eval/reports/latest

clean:
	rm -rf .data $(VENV)
