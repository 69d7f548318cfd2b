"""Titanic survival: engineered features, a group rule and the candidate models.

One pipeline per candidate model::

    TitanicFeatures  ->  ColumnTransformer(scale numbers, one-hot categories)  ->  model

``TitanicFeatures`` turns the raw Kaggle columns into engineered features and
learns every statistic it needs (frequent titles, age medians per title, ticket
counts, group survival) in ``fit``, so inside cross-validation each statistic
comes from the training folds only. :func:`select_model` scores every candidate
on the same repeated stratified K-fold splits and :func:`choose` picks one by
the best mean or by the one-standard-error rule.

A saved pipeline names this module's classes, and a service unpickling it imports
this module: it imports nothing at module top beyond NumPy, pandas and scikit-learn.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import RepeatedStratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC

if TYPE_CHECKING:
    from rich.progress import Progress

# Unambiguous spellings of the same title; everything else is decided by frequency in fit.
TITLE_ALIASES = {"Mlle": "Miss", "Ms": "Miss", "Mme": "Mrs"}
RARE = "Rare"
GROUP_BY = ("none", "ticket", "ticket+family")


# ---------------------------------------------------------------------------
# Features
# ---------------------------------------------------------------------------


def extract_title(names: pd.Series) -> pd.Series:
    """The honorific between the comma and the full stop: "Braund, Mr. Owen" -> "Mr"."""
    title = names.astype(object).str.extract(r",\s*([^.]+)\.", expand=False).str.strip()
    return title.fillna("Unknown").replace(TITLE_ALIASES).astype(object)


def extract_deck(cabins: pd.Series) -> pd.Series:
    """Deck letter of the (first) cabin, "M" when the cabin is unknown."""
    return cabins.astype(object).str.strip().str[0].fillna("M").astype(object)


def _group_rare(values: pd.Series, frequent: set[str]) -> pd.Series:
    return values.where(values.isin(frequent), RARE).astype(object)


class TitanicFeatures(TransformerMixin, BaseEstimator):
    """Raw Kaggle columns -> engineered features (a DataFrame).

    Learned in ``fit`` (on the training rows only): the frequent titles and
    decks (rarer ones become "Rare"), the median age per title, the median fare
    per class, the most common port, how many fit passengers share each ticket
    and, unless ``group_by`` is "none", how the women and children of each
    passenger's group fared. A passenger seen in ``fit`` (by ``PassengerId``) is
    never counted in its own group, so transforming the training rows gives the
    features the model will see for a new passenger.

    Parameters
    ----------
    rare_min_count: a title or deck with fewer fit passengers than this is "Rare".
    group_by: "none", "ticket" (same ticket) or "ticket+family" (same ticket, or
        same surname and class): whose survival the group features count.
    exclude: output features left out (computed all the same, e.g. for the fare per person).
    """

    def __init__(
        self,
        rare_min_count: int = 10,
        group_by: str = "ticket+family",
        exclude: tuple[str, ...] = (),
    ) -> None:
        self.rare_min_count = rare_min_count
        self.group_by = group_by
        self.exclude = exclude

    def fit(self, X: pd.DataFrame, y: Any = None) -> TitanicFeatures:
        if self.group_by not in GROUP_BY:
            raise ValueError(f"group_by must be one of {GROUP_BY}, got {self.group_by!r}")
        if self.group_by != "none" and y is None:
            raise ValueError(f"group_by={self.group_by!r} needs the labels y in fit")
        title_counts = extract_title(X["Name"]).value_counts()
        self.titles_ = set(title_counts[title_counts >= self.rare_min_count].index)
        deck_counts = extract_deck(X["Cabin"]).value_counts()
        self.decks_ = set(deck_counts[deck_counts >= self.rare_min_count].index)
        title = _group_rare(extract_title(X["Name"]), self.titles_)
        age = X["Age"].astype(float)
        self.age_median_ = float(age.median())
        self.age_by_title_ = age.groupby(title).median().dropna().to_dict()
        fare = X["Fare"].astype(float)
        self.fare_by_class_ = fare.groupby(X["Pclass"]).median().to_dict()
        self.fare_median_ = float(fare.median())
        self.embarked_mode_ = str(X["Embarked"].mode().iloc[0])
        self.ticket_counts_ = _ticket(X).value_counts().to_dict()
        self.fit_row_ = {pid: row for row, pid in enumerate(X["PassengerId"])}
        if self.group_by != "none":
            self._fit_groups(X, title, np.asarray(y, dtype=int))
        return self

    def _fit_groups(self, X: pd.DataFrame, title: pd.Series, y: np.ndarray) -> None:
        # Women and boys ("women and children first") share a fate within a family
        # far more than adult men do, so only they are counted.
        self.women_children_ = ((_is_male(X) == 0) | (title == "Master")).to_numpy(dtype=int)
        self.wc_survived_ = self.women_children_ * y
        self.wc_prior_ = float(y[self.women_children_ == 1].mean())
        members: dict[tuple[Any, ...], list[int]] = {}
        for row, keys in enumerate(self._group_keys(X)):
            for key in keys:
                members.setdefault(key, []).append(row)
        self.group_members_ = members

    def _group_keys(self, X: pd.DataFrame) -> list[list[tuple[Any, ...]]]:
        keys: list[list[tuple[Any, ...]]] = [[("ticket", t)] for t in _ticket(X)]
        if self.group_by == "ticket+family":
            surname = X["Name"].astype(object).str.split(",").str[0].str.strip().str.lower()
            for row_keys, name, pclass in zip(keys, surname, X["Pclass"], strict=True):
                row_keys.append(("family", name, int(pclass)))
        return keys

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        title = _group_rare(extract_title(X["Name"]), self.titles_)
        deck = _group_rare(extract_deck(X["Cabin"]), self.decks_)
        age = (
            X["Age"]
            .astype(float)
            .fillna(title.map(self.age_by_title_).astype(float).fillna(self.age_median_))
        )
        fare_fill = X["Pclass"].map(self.fare_by_class_).astype(float).fillna(self.fare_median_)
        fare = X["Fare"].astype(float).fillna(fare_fill)
        seen = X["PassengerId"].isin(self.fit_row_.keys()).astype(int)
        # A new passenger is one more traveller on the ticket than fit counted.
        ticket_size = _ticket(X).map(self.ticket_counts_).fillna(0).astype(int) + 1 - seen
        family_size = X["SibSp"].astype(int) + X["Parch"].astype(int) + 1
        # Kaggle's Fare is the ticket's total; fit sees only part of each group, so
        # the family size is the better head count when it is larger.
        party_size = np.maximum(ticket_size, family_size)
        out = pd.DataFrame(
            {
                "Pclass": X["Pclass"].astype(int),
                "IsMale": _is_male(X),
                "Age": age,
                "AgeMissing": X["Age"].isna().astype(int),
                "IsChild": (age < 14).astype(int),
                "SibSp": X["SibSp"].astype(int),
                "Parch": X["Parch"].astype(int),
                "FamilySize": family_size,
                "IsAlone": (family_size == 1).astype(int),
                "TicketGroupSize": ticket_size,
                "LogFarePerPerson": np.log1p(fare / party_size),
                "CabinKnown": X["Cabin"].notna().astype(int),
                "Title": title,
                "Deck": deck,
                "Embarked": X["Embarked"].astype(object).fillna(self.embarked_mode_),
            },
            index=X.index,
        )
        if self.group_by != "none":
            out = out.join(self._group_survival(X))
        return out.drop(columns=list(self.exclude))

    def _group_survival(self, X: pd.DataFrame) -> pd.DataFrame:
        """How many other women and children of the group fit saw, and their survival rate."""
        known = np.zeros(len(X), dtype=int)
        survived = np.zeros(len(X), dtype=int)
        for i, (pid, keys) in enumerate(zip(X["PassengerId"], self._group_keys(X), strict=True)):
            mates = set().union(*(self.group_members_.get(key, ()) for key in keys))
            mates.discard(self.fit_row_.get(pid, -1))
            rows = np.fromiter(mates, dtype=int, count=len(mates))
            known[i] = self.women_children_[rows].sum()
            survived[i] = self.wc_survived_[rows].sum()
        rate = np.where(known > 0, survived / np.maximum(known, 1), self.wc_prior_)
        return pd.DataFrame({"GroupWCKnown": known, "GroupWCSurvival": rate}, index=X.index)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        names = [
            "Pclass", "IsMale", "Age", "AgeMissing", "IsChild", "SibSp", "Parch",
            "FamilySize", "IsAlone", "TicketGroupSize", "LogFarePerPerson", "CabinKnown",
            "Title", "Deck", "Embarked",
        ]  # fmt: skip
        if self.group_by != "none":
            names += ["GroupWCKnown", "GroupWCSurvival"]
        return np.asarray([n for n in names if n not in self.exclude], dtype=object)


class WomanChildGroupClassifier(ClassifierMixin, BaseEstimator):
    """The "woman-child-group" rule on :class:`TitanicFeatures` output (no parameters).

    Women and boys live and men die, except that a woman whose group's other
    women and children all died dies, and a boy whose group's other women and
    children all survived lives (the group rule of Chris Deotte's Kaggle
    notebook "Titanic using Name only", 2018).
    """

    def fit(self, X: pd.DataFrame, y: Any) -> WomanChildGroupClassifier:
        self.classes_ = np.unique(np.asarray(y))
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        known = X["GroupWCKnown"].to_numpy() > 0
        rate = X["GroupWCSurvival"].to_numpy()
        female = X["IsMale"].to_numpy() == 0
        boy = X["Title"].to_numpy() == "Master"
        woman_lives = female & ~(known & (rate == 0))
        boy_lives = boy & known & (rate == 1)
        return (woman_lives | boy_lives).astype(int)


def _is_male(X: pd.DataFrame) -> pd.Series:
    return (X["Sex"].astype(object) == "male").astype(int)


def _ticket(X: pd.DataFrame) -> pd.Series:
    return X["Ticket"].astype(str).str.strip()


# ---------------------------------------------------------------------------
# Candidates
# ---------------------------------------------------------------------------

MODEL_KINDS: dict[str, type[ClassifierMixin]] = {
    "logistic_regression": LogisticRegression,
    "random_forest": RandomForestClassifier,
    "gradient_boosting": GradientBoostingClassifier,
    "hist_gradient_boosting": HistGradientBoostingClassifier,
    "svc": SVC,
    "woman_child_group": WomanChildGroupClassifier,
}


def build_model(spec: Mapping[str, Any], seed: int) -> ClassifierMixin:
    """A classifier from a config entry ``{kind: ..., <hyperparameters>}``."""
    params = {k: v for k, v in spec.items() if k != "kind"}
    cls = MODEL_KINDS[spec["kind"]]
    if "random_state" in cls().get_params():
        params.setdefault("random_state", seed)
    return cls(**params)


def build_pipeline(
    model: ClassifierMixin,
    rare_min_count: int = 10,
    group_by: str = "ticket+family",
    exclude: tuple[str, ...] = (),
) -> Pipeline:
    """Features -> (scaled numbers | one-hot categories) -> model.

    The woman-child-group rule reads the named features, so it skips the encoding.
    """
    features = TitanicFeatures(rare_min_count=rare_min_count, group_by=group_by, exclude=exclude)
    if isinstance(model, WomanChildGroupClassifier):
        return Pipeline([("features", features), ("model", model)])
    encode = ColumnTransformer(
        [
            ("num", StandardScaler(), make_column_selector(dtype_include="number")),
            (
                "cat",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                make_column_selector(dtype_exclude="number"),
            ),
        ]
    )
    return Pipeline([("features", features), ("encode", encode), ("model", model)])


@contextmanager
def _progress() -> Iterator[Progress]:
    from rich.console import Console
    from rich.progress import Progress

    console = Console(stderr=True)
    with Progress(console=console, disable=not sys.stderr.isatty(), transient=True) as progress:
        yield progress


def select_model(
    candidates: Mapping[str, Pipeline],
    X: pd.DataFrame,
    y: pd.Series,
    folds: int,
    repeats: int,
    seed: int,
    n_jobs: int | None = None,
) -> pd.DataFrame:
    """Mean and std accuracy of each candidate over the same repeated stratified K-fold splits."""
    splitter = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)
    rows = []
    with _progress() as progress:
        task = progress.add_task("cross-validating", total=len(candidates))
        for name, pipeline in candidates.items():
            progress.update(task, description=f"cross-validating {name}")
            scores = cross_val_score(pipeline, X, y, cv=splitter, n_jobs=n_jobs)
            rows.append({"candidate": name, "mean": scores.mean(), "std": scores.std()})
            progress.advance(task)
    return pd.DataFrame(rows, columns=["candidate", "mean", "std"])


def choose(table: pd.DataFrame, rule: str, n_folds: int) -> str:
    """The winning candidate of a CV table in config order.

    best: the highest mean accuracy (the first one listed among ties).
    one_se: the first listed (list the simplest first) whose mean is within one
    standard error, std / sqrt(n_folds), of the best mean — the "one-standard-error
    rule" of Hastie, Tibshirani & Friedman, *ESL* §7.10. Repeated K-fold scores are
    correlated, so this standard error is, if anything, too small.
    """
    best = table["mean"].max()
    if rule == "best":
        return str(table.loc[table["mean"].idxmax(), "candidate"])
    if rule == "one_se":
        sem = table.loc[table["mean"].idxmax(), "std"] / np.sqrt(n_folds)
        return str(table.loc[table["mean"] >= best - sem, "candidate"].iloc[0])
    raise ValueError(f"unknown selection rule {rule!r}; use best or one_se")
