"""The llama.cpp server launcher the llm-peer tests use: it lives in bot/answer/llama_server.py
(`make run-llm` starts the same server); kept here so test imports stay short."""

from bot.answer.llama_server import Peer, free_port

__all__ = ["Peer", "free_port"]
