"""Stages 0 and 2: classic machine learning milestones (Titanic, CI, metrics, tuning, …)."""
