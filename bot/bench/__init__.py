"""`antiscam bench`: speed and growth, measured (JSON + plot), never asserted in tests.
`run` is the entry point; `timing` holds the shared helpers; `compare` pits our retriever
against LangChain baselines; `scale` grows the corpus to 100k chunks.
"""
