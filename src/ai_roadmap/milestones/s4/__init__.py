"""Stage 4 — specialisation tracks: vision (A) and NLP (B)."""
