"""The scam check: a pasted message → verdict, red flags quoted from it, topics and cited
evidence. Detectors (`redflags`), the labelled example bank (`examples`), the wording model
(`wording`), topic heads (`topics`), the score and verdict (`checker`) and its text (`render`).
It reads retrieval results handed to it; it never answers questions (`bot.answer`).
"""
