"""Adapters for the real retailers in ``../shared/data`` that the real-data benchmark runs (Olist has its own)."""
