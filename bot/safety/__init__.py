"""The safety layer: triage of every message (harmful, urgent, off-topic, question), personal
data redaction, the output guard on model answers, and the fixed replies (refusal, urgent
steps). It never retrieves passages or composes answers (`bot.answer`).
"""
