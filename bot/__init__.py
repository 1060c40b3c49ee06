"""rupn-bot: a Matrix/Tchap bot for the French schools' digital referents (RUPN)."""

__version__ = "0.1.0"
