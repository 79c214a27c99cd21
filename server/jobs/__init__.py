"""The job engine: job records, stores, the runner and waiters. It knows nothing about cases,
analyses or HTTP (``.importlinter`` enforces it); ``handlers`` and ``access`` are its endpoints."""
