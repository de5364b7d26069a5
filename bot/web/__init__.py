"""Web front ends: the FastAPI server, the Gradio UI and the embeddable widget.

Modules: `server` (FastAPI app, API routes), `service` (answers plus storage), `gradio_app`
(the UI), `markdown` (bot payloads as safe Markdown), `schemas`, `limits`, `storage`,
`settings`, `text` (interface wording in `web_text.yaml`), `answer_cache` (repeated
questions), `metrics` (/metrics for Prometheus); `static/` holds the widget.
Import `bot.web.server.create_app`; importing this package itself loads nothing (Gradio is
imported only when the UI is mounted). Nothing here imports chromadb or answers by itself.
"""
