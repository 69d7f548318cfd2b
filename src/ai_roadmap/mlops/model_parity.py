"""One registered model by two roads: ``models:/name@alias`` by URI, and the serving export.

The registry hands out a model by URI (``models:/s0.titanic@champion``: resolve the
alias to a version, download the folder it was registered from); the service reads
the folder ``roadmap serve --export-only`` wrote, with its ``VERSION`` and, where the
model compiles, its NumPy fast path. Both must give the same answers on the same
rows, or what was evaluated is not what is served. The comparison is

    max_i |p_uri(x_i) − p_served(x_i)|  over the rows the service accepts

(the probability of the positive class, or the regression value), beside the
number of rows whose label (p ≥ 0.5) differs. A row the service would refuse with
422 (a value its card does not allow) is counted, not compared.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ai_roadmap.settings import Settings


def served_predictions(settings: Settings, name: str, rows: Any) -> tuple[Any, Any, str, str]:
    """Export ``name``'s champion as ``roadmap serve`` does and predict as the service does.

    Returns (values, answered mask, exported VERSION, "fast" | "pipeline"); a row the
    service's request model refuses gets NaN and False in the mask.
    """
    import numpy as np
    from pydantic import ValidationError

    from ai_roadmap.serving.app import read_served
    from ai_roadmap.serving.export import export_champions
    from ai_roadmap.serving.schemas import request_model

    version = export_champions(settings, [name])[name]
    served = read_served(settings.model_copy(update={"serve_models": name}))[name]
    served.load()
    record = request_model(name, served.card.input_schema)
    records = rows.astype(object).where(rows.notna(), None).to_dict("records")
    valid, answered = [], np.zeros(len(records), dtype=bool)
    for i, row in enumerate(records):
        try:
            valid.append(record.model_validate(row))
            answered[i] = True
        except ValidationError:
            continue
    values = np.full(len(records), np.nan)
    answers = served.predict(valid)
    classify = served.card.task == "classification"
    values[answered] = [a.probability if classify else a.prediction for a in answers]
    return values, answered, version, served.path


def uri_predictions(uri: str, tracking_uri: str, rows: Any, dest: Path) -> Any:
    """The model at a ``models:/…`` URI, downloaded and loaded with the project's loader."""
    import mlflow

    from ai_roadmap.artifacts import load_model

    folder = mlflow.artifacts.download_artifacts(
        artifact_uri=uri, dst_path=str(dest), tracking_uri=tracking_uri
    )
    model, card = load_model(Path(folder))
    frame = rows[list(card.input_schema)]
    if card.task == "classification":
        return model.predict_proba(frame)[:, 1]
    return model.predict(frame)


def compare(served: Any, answered: Any, by_uri: Any) -> tuple[float, int]:
    """(max |Δ| over the answered rows, labels that differ at 0.5); inf when none answered."""
    import numpy as np

    if not answered.any():
        return float("inf"), 0
    a, b = served[answered], by_uri[answered]
    return float(np.abs(a - b).max()), int(((a >= 0.5) != (b >= 0.5)).sum())
