"""TitanicFeatures on hand-made passengers: each feature, and statistics learned in fit only."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from sklearn.base import clone

from ai_roadmap.classic.titanic import (
    TitanicFeatures,
    WomanChildGroupClassifier,
    build_model,
    build_pipeline,
    choose,
    extract_deck,
    extract_title,
)

NAN = float("nan")
# PassengerId, Name, Sex, Age, SibSp, Parch, Ticket, Fare, Cabin, Embarked, Pclass, Survived
ROWS = [
    (1, "Smith, Mr. John", "male", 40.0, 1, 0, "A1", 20.0, "C23 C25", "S", 1, 0),
    (2, "Smith, Mrs. Jane (Jane Doe)", "female", NAN, 1, 0, "A1", 20.0, "C23 C25", "S", 1, 1),
    (3, "Brown, Mr. Paul", "male", 30.0, 0, 0, "B2", 8.0, None, "Q", 3, 0),
    (4, "Jones, Mrs. Ann", "female", 50.0, 0, 0, "B3", 9.0, None, "S", 3, 1),
    (5, "White, Mlle. Eve", "female", 22.0, 0, 0, "B4", 10.0, None, "C", 2, 1),
    (6, "Black, Miss. Rose", "female", 18.0, 0, 1, "B5", 15.0, "E10", "S", 2, 1),
    (7, "Gray, Dr. Alan", "male", 60.0, 0, 0, "B6", 30.0, "E12", None, 1, 0),
    (8, "Rothes, the Countess. of (Lucy)", "female", 33.0, 0, 0, "B7", 80.0, "B77", "S", 1, 1),
]
COLUMNS = [
    "PassengerId", "Name", "Sex", "Age", "SibSp", "Parch", "Ticket", "Fare", "Cabin",
    "Embarked", "Pclass", "Survived",
]  # fmt: skip


@pytest.fixture
def train() -> tuple[pd.DataFrame, pd.Series]:
    frame = pd.DataFrame(ROWS, columns=COLUMNS)
    return frame.drop(columns="Survived"), frame["Survived"]


def passenger(pid: int, name: str, sex: str, **kw: object) -> dict[str, object]:
    row: dict[str, object] = dict(
        PassengerId=pid, Name=name, Sex=sex, Age=NAN, SibSp=0, Parch=0, Ticket="Z9",
        Fare=10.0, Cabin=None, Embarked="S", Pclass=3,
    )  # fmt: skip
    row.update(kw)
    return row


def test_title_extraction_and_aliases() -> None:
    names = pd.Series(
        ["Smith, Mr. John", "White, Mlle. Eve", "Oe, Ms. Lin", "Ali, Mme. Sara",
         "Rothes, the Countess. of (Lucy)", "no comma here"]
    )  # fmt: skip
    assert extract_title(names).tolist() == ["Mr", "Miss", "Miss", "Mrs", "the Countess", "Unknown"]


def test_rare_titles_are_grouped_by_fit_counts(train: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = train
    features = TitanicFeatures(rare_min_count=2).fit(X, y)
    # Mr, Mrs and Miss (Mlle + Miss) reach 2 passengers; Dr and the Countess do not
    assert features.titles_ == {"Mr", "Mrs", "Miss"}
    titles = features.transform(X)["Title"].tolist()
    assert titles == ["Mr", "Mrs", "Mr", "Mrs", "Miss", "Miss", "Rare", "Rare"]
    new = pd.DataFrame([passenger(100, "Oliva, Dona. Fermina", "female")])
    assert features.transform(new)["Title"].tolist() == ["Rare"]  # unseen title


def test_family_size_alone_and_deck(train: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = train
    out = TitanicFeatures(rare_min_count=2).fit(X, y).transform(X)
    assert out["FamilySize"].tolist() == [2, 2, 1, 1, 1, 2, 1, 1]
    assert out["IsAlone"].tolist() == [0, 0, 1, 1, 1, 0, 1, 1]
    assert extract_deck(X["Cabin"]).tolist() == ["C", "C", "M", "M", "M", "E", "E", "B"]
    # deck B has a single passenger: rare at rare_min_count=2
    assert out["Deck"].tolist() == ["C", "C", "M", "M", "M", "E", "E", "Rare"]
    assert out["CabinKnown"].tolist() == [1, 1, 0, 0, 0, 1, 1, 1]
    assert out["Embarked"].iloc[6] == "S"  # the fit mode fills the missing port


def test_fare_per_person_uses_ticket_group(train: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = train
    features = TitanicFeatures().fit(X, y)
    out = features.transform(X)
    # the two Smiths share ticket A1 and its fare of 20
    assert out["TicketGroupSize"].tolist()[:3] == [2, 2, 1]
    assert out["LogFarePerPerson"].iloc[0] == pytest.approx(math.log1p(10.0))
    assert out["LogFarePerPerson"].iloc[2] == pytest.approx(math.log1p(8.0))
    # a new passenger on A1 is the third traveller on that ticket
    new = pd.DataFrame([passenger(100, "Smith, Miss. Ida", "female", Ticket="A1", Fare=30.0)])
    new_out = features.transform(new)
    assert new_out["TicketGroupSize"].item() == 3
    assert new_out["LogFarePerPerson"].item() == pytest.approx(math.log1p(10.0))
    # a larger family than the ticket group is the better head count
    family = pd.DataFrame([passenger(101, "Lee, Mr. Bo", "male", SibSp=1, Parch=2, Fare=40.0)])
    assert features.transform(family)["LogFarePerPerson"].item() == pytest.approx(math.log1p(10.0))


def test_statistics_come_from_fit_data_only(train: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = train
    features = TitanicFeatures(rare_min_count=2).fit(X, y)
    assert features.age_by_title_ == {"Mr": 35.0, "Mrs": 50.0, "Miss": 20.0, "Rare": 46.5}
    new = pd.DataFrame(
        [
            passenger(100, "Doe, Mrs. Eva", "female"),  # no age: the Mrs median of fit
            passenger(101, "Roe, Mrs. Kim", "female", Age=5.0),  # does not move that median
            passenger(102, "Poe, Mr. Al", "male", Fare=NAN, Pclass=1),
        ]
    )
    out = features.transform(new)
    assert out["Age"].tolist() == [50.0, 5.0, 35.0]
    assert out["AgeMissing"].tolist() == [1, 0, 1]
    # the missing fare is the fit median of first class: (20 + 20 + 30 + 80) / 4 -> 25
    assert out["LogFarePerPerson"].iloc[2] == pytest.approx(math.log1p(25.0))
    # transforming other passengers leaves the fitted statistics untouched
    assert features.age_by_title_["Mrs"] == 50.0


def test_group_survival_never_counts_the_passenger_itself(
    train: tuple[pd.DataFrame, pd.Series],
) -> None:
    X, y = train
    features = TitanicFeatures().fit(X, y)
    out = features.transform(X)
    # Mrs Smith's only group mate is her husband, an adult man: not counted
    assert out["GroupWCKnown"].iloc[1] == 0
    assert out["GroupWCSurvival"].iloc[1] == pytest.approx(features.wc_prior_)
    # Mr Smith's group has one woman, who survived
    assert out["GroupWCKnown"].iloc[0] == 1 and out["GroupWCSurvival"].iloc[0] == 1.0
    # a new Smith in first class is linked by surname + class even on another ticket
    new = pd.DataFrame([passenger(100, "Smith, Master. Tim", "male", Ticket="Q7", Pclass=1)])
    new_out = features.transform(new)
    assert new_out["GroupWCKnown"].item() == 1 and new_out["GroupWCSurvival"].item() == 1.0
    # fit_transform is fit + transform: the training rows get what new rows would get
    pd.testing.assert_frame_equal(clone(features).fit_transform(X, y), out)


def test_group_features_need_labels_and_can_be_switched_off(
    train: tuple[pd.DataFrame, pd.Series],
) -> None:
    X, _ = train
    with pytest.raises(ValueError, match="needs the labels"):
        TitanicFeatures().fit(X)
    out = TitanicFeatures(group_by="none", exclude=("Deck",)).fit(X).transform(X)
    assert "GroupWCKnown" not in out and "Deck" not in out
    names = TitanicFeatures(group_by="none", exclude=("Deck",)).get_feature_names_out()
    assert list(names) == list(out.columns)


def test_woman_child_group_rule() -> None:
    frame = pd.DataFrame(
        {
            "IsMale": [0, 0, 1, 1, 1],
            "Title": ["Mrs", "Miss", "Master", "Master", "Mr"],
            "GroupWCKnown": [0, 2, 1, 0, 3],
            "GroupWCSurvival": [0.7, 0.0, 1.0, 0.7, 1.0],
        }
    )
    rule = WomanChildGroupClassifier().fit(frame, [0, 1, 0, 1, 0])
    # a woman lives unless her group's women and children all died; a boy the reverse
    assert rule.predict(frame).tolist() == [1, 0, 1, 0, 0]


def test_pipeline_fits_and_predicts_labels(train: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = train
    spec = {"kind": "logistic_regression", "C": 1.0}
    pipeline = build_pipeline(build_model(spec, seed=0), rare_min_count=2).fit(X, y)
    new = pd.DataFrame([passenger(100, "Oliva, Dona. Fermina", "female", Embarked="X")])
    assert set(pipeline.predict(pd.concat([X, new]))) <= {0, 1}


def test_choose_best_and_one_standard_error_rule() -> None:
    table = pd.DataFrame(
        {"candidate": ["simple", "complex", "other"], "mean": [0.843, 0.85, 0.8], "std": [0.04] * 3}
    )
    assert choose(table, "best", n_folds=16) == "complex"
    assert choose(table, "one_se", n_folds=16) == "simple"  # 0.843 >= 0.85 - 0.04 / 4
    assert choose(table, "one_se", n_folds=10_000) == "complex"
    with pytest.raises(ValueError, match="unknown selection rule"):
        choose(table, "worst", n_folds=4)
