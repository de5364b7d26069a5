"""Web front ends: the FastAPI server, the Gradio UI and the embeddable widget.

Import `bot.web.server.create_app`; importing this package itself loads nothing (Gradio is
imported only when the UI is mounted). Nothing here imports chromadb or answers by itself.
"""
