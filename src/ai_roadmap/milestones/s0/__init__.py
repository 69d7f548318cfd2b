"""Stage 0 — engineering base: Titanic, CI."""
