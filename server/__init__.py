"""Job server for long-running case analyses (Tornado)."""

__version__ = "0.1.0"
