"""The REST prediction service: FastAPI app factory, schemas from model cards, metrics, logs."""

# Served model name -> the milestone that trains and registers it.
SERVED_MODELS = {"titanic": "s0.titanic", "house": "s2.house", "churn": "s2.churn"}
