"""The answer path (RAG): knowledge loading and linting, chunking, embeddings, the Chroma store,
the BM25 index, retrieval, the extractive composer, the LLM generator, citation checks and the
chain that ties them. Nothing here decides safety (`bot.safety`) or judges pasted messages
(`bot.check`), and nothing here imports a web framework.
"""
