"""The REST prediction service: FastAPI app factory, schemas from model cards, metrics, logs."""

# Served model name -> the milestone that trains and registers it. ``eta``: the flight
# arrival-delay model of the ETA system design (s6.sysdesign), served on request
# (`roadmap serve --models eta`); the default set and the image stay the stage-2 three.
SERVED_MODELS = {
    "titanic": "s0.titanic",
    "house": "s2.house",
    "churn": "s2.churn",
    "eta": "s6.sysdesign",
}
