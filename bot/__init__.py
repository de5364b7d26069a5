"""AntiScam Assistant (反诈助手): an offline, bilingual fraud-awareness answerer.

Importing this package has no side effects: no clients, no models, no network.
"""

__version__ = "0.1.0"
