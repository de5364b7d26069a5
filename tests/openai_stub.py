"""A small OpenAI-compatible chat server on loopback, scripted per test (a fake model peer).

It speaks the real HTTP protocol (plain JSON and SSE streaming) so the langchain-openai client
is exercised for real; only the model behind it is fake.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeOpenAIServer:
    def __init__(self):
        # str reply, callable(request body) -> str, ("hang", seconds) or ("error", status)
        self.replies: deque = deque()
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append(body)
                reply = server.replies.popleft() if server.replies else "OK [1]"
                finish = "stop"
                if isinstance(reply, tuple) and reply[0] == "length":  # stopped at max_tokens
                    finish, reply = "length", reply[1]
                if callable(reply):  # a fake model that reads the prompt it was sent
                    reply = reply(body)
                if isinstance(reply, tuple) and reply[0] == "hang":
                    time.sleep(reply[1])
                    reply = "late [1]"
                if isinstance(reply, tuple) and reply[0] == "error":
                    self.send_response(reply[1])
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"error": {"message": "boom"}}')
                    return
                if body.get("stream"):
                    self._stream(reply, body, finish)
                else:
                    self._plain(reply, body, finish)

            def _plain(self, text, body, finish):
                payload = {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model", "fake"),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text},
                            "finish_reason": finish,
                        }
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, text, body, finish):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                pieces = [text[i : i + 5] for i in range(0, len(text), 5)]
                for piece in pieces:
                    chunk = {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion.chunk",
                        "created": int(time.time()),
                        "model": body.get("model", "fake"),
                        "choices": [
                            {"index": 0, "delta": {"content": piece}, "finish_reason": None}
                        ],
                    }
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                last = {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": body.get("model", "fake"),
                    "choices": [{"index": 0, "delta": {}, "finish_reason": finish}],
                }
                self.wfile.write(f"data: {json.dumps(last)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def passage(body: dict, n: int) -> str:
    """The text of passage [n] in the user prompt the chain sent (see prompts/answer.yaml)."""
    import re

    user = body["messages"][-1]["content"]
    m = re.search(rf"^\[{n}\] \([^)]*\) (.+)$", user, re.M)
    return m.group(1).strip() if m else ""


def quoting(*numbers: int, extra: str = ""):
    """A fake model reply that restates passages [n] (grounded) and appends `extra`."""

    def reply(body: dict) -> str:
        return "".join(f"{passage(body, n)}[{n}]" for n in numbers) + extra

    return reply
