"""Stage 2 — classic ML: theory, metrics, tuning, House Prices, churn, the REST service."""
