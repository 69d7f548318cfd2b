"""Stage 5 — MLOps: serving, versioning, tracking, continuous training, monitoring, streaming."""
