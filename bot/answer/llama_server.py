"""Start and stop llama.cpp's OpenAI-compatible server (`python -m llama_cpp.server`) on loopback.

`Peer` starts one local server process (the llm-peer tests, eval/llm_local_eval.py);
`python -m bot.answer.llama_server [GGUF]` is `make run-llm`: the server with the local
Qwen2.5-Coder-1.5B-Instruct GGUF and its own chat template, its prompt cache warmed with the
bot's fixed prompt prefix, then `antiscam serve` pointed at
it (BOT_GENERATOR=openai), and the server stopped when the web app exits. Needs
`llama-cpp-python[server]` (`make llm-local-setup`). Apart from that warm-up it knows nothing else about the bot.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Peer:
    """`python -m llama_cpp.server` with a GGUF, on 127.0.0.1, in its own process."""

    def __init__(
        self,
        gguf: Path,
        log: Path,
        n_ctx: int | str = 4096,
        threads: int = 2,
        alias: str = "local",
        chat_format: str | None = None,
    ):
        """`chat_format=None` uses the chat template stored in the GGUF (Qwen's own)."""
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.log = log
        cmd = [
            sys.executable, "-m", "llama_cpp.server", "--model", str(gguf),
            "--model_alias", alias, "--host", "127.0.0.1", "--port", str(self.port),
            "--n_ctx", str(n_ctx), "--n_threads", str(threads), "--verbose", "False",
            "--logits_all", "False", "--flash_attn", "True",
        ]  # fmt: skip
        # logits_all (the server's default) keeps logits for every prompt token: slower prompt
        # reading and a 2.5 GB score array at n_ctx 4096; nothing here asks for logprobs
        if chat_format:  # a named llama-cpp-python format, for a GGUF without a template
            cmd += ["--chat_format", chat_format]
        self.out = log.open("wb")
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=subprocess.STDOUT)
        self._wait()

    def _wait(self, limit: float = 120.0) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as r:
                    if r.status == 200 and json.load(r)["data"]:
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(
            f"llama_cpp.server not ready in {limit}s: {self.log.read_text()[-2000:]}"
        )

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.out.close()


LOCAL_GGUF = Path(__file__).resolve().parents[2] / ".data/models/qwen2.5-coder-1.5b-instruct.gguf"
LOCAL_ALIAS = "qwen2.5-coder-1.5b-instruct"
# what `make run-llm` sets unless the environment already does (BOT_LLM_* wins)
LOCAL_ENV = {"BOT_LLM_MAX_TOKENS": "128", "BOT_LLM_TIMEOUT": "60", "BOT_LLM_MAX_RETRIES": "0"}


def warm(base_url: str) -> bool:
    """The bot's fixed prompt prefix into the server's prompt cache (`LLMGenerator.warm`)."""
    from bot.answer.llm import LLMGenerator, make_chat_model
    from bot.config import Settings

    settings = Settings.from_env(
        generator="openai", openai_base_url=base_url, openai_model=LOCAL_ALIAS,
        openai_api_key="not-needed", llm_timeout=120, llm_max_retries=0,
    )  # fmt: skip
    return LLMGenerator(make_chat_model(settings)).warm()


def main(argv: list[str] | None = None) -> int:
    """The local model's server, then the web app using it; the server stops with the app."""
    args = sys.argv[1:] if argv is None else argv
    gguf = Path(args[0]) if args else LOCAL_GGUF
    if not gguf.is_file():
        raise SystemExit(f"{gguf} is missing: run `make llm-local-setup`")
    log = gguf.parent / "llama-server.log"
    threads = int(os.environ.get("LLM_THREADS", "2"))
    peer = Peer(gguf, log, n_ctx=4096, threads=threads, alias=LOCAL_ALIAS, chat_format=None)
    print(f"llama.cpp server on {peer.base_url} (log: {log})", flush=True)
    print("reading the prompt's fixed part into the server's cache…", flush=True)
    warm(peer.base_url)
    env = {**LOCAL_ENV, **os.environ}
    env.update(BOT_GENERATOR="openai", OPENAI_BASE_URL=peer.base_url,
               BOT_OPENAI_MODEL=LOCAL_ALIAS, OPENAI_API_KEY="not-needed")  # fmt: skip
    try:
        cmd = [sys.executable, "-m", "bot.cli", "serve"]
        return subprocess.call(cmd, env=env)
    except KeyboardInterrupt:
        return 130
    finally:
        peer.stop()


if __name__ == "__main__":
    raise SystemExit(main())
