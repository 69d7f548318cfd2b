"""s2.house features and models on hand-made houses: each rule, and statistics from fit only."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.metrics import mean_squared_log_error

from ai_roadmap.classic.house import (
    FeatureOptions,
    OutlierRule,
    build_ensemble,
    build_log_pipeline,
    ensemble_weights,
    fold_ids,
    in_dollars,
    log_rmse,
    score_table,
)
from ai_roadmap.classic.house_features import (
    ClipToFitRange,
    DropTrainingOutliers,
    HouseFeatures,
    SkewedLog1p,
)

NAN = float("nan")
# Kaggle's first training house (Id 1), every raw column but SalePrice.
BASE = {
    "Id": 1, "MSSubClass": 60, "MSZoning": "RL", "LotFrontage": 65.0, "LotArea": 8450,
    "Street": "Pave", "Alley": None, "LotShape": "Reg", "LandContour": "Lvl",
    "Utilities": "AllPub", "LotConfig": "Inside", "LandSlope": "Gtl", "Neighborhood": "CollgCr",
    "Condition1": "Norm", "Condition2": "Norm", "BldgType": "1Fam", "HouseStyle": "2Story",
    "OverallQual": 7, "OverallCond": 5, "YearBuilt": 2003, "YearRemodAdd": 2003,
    "RoofStyle": "Gable", "RoofMatl": "CompShg", "Exterior1st": "VinylSd",
    "Exterior2nd": "VinylSd", "MasVnrType": "BrkFace", "MasVnrArea": 196.0, "ExterQual": "Gd",
    "ExterCond": "TA", "Foundation": "PConc", "BsmtQual": "Gd", "BsmtCond": "TA",
    "BsmtExposure": "No", "BsmtFinType1": "GLQ", "BsmtFinSF1": 706, "BsmtFinType2": "Unf",
    "BsmtFinSF2": 0, "BsmtUnfSF": 150, "TotalBsmtSF": 856, "Heating": "GasA", "HeatingQC": "Ex",
    "CentralAir": "Y", "Electrical": "SBrkr", "1stFlrSF": 856, "2ndFlrSF": 854,
    "LowQualFinSF": 0, "GrLivArea": 1710, "BsmtFullBath": 1, "BsmtHalfBath": 0, "FullBath": 2,
    "HalfBath": 1, "BedroomAbvGr": 3, "KitchenAbvGr": 1, "KitchenQual": "Gd",
    "TotRmsAbvGrd": 8, "Functional": "Typ", "Fireplaces": 0, "FireplaceQu": None,
    "GarageType": "Attchd", "GarageYrBlt": 2003.0, "GarageFinish": "RFn", "GarageCars": 2,
    "GarageArea": 548, "GarageQual": "TA", "GarageCond": "TA", "PavedDrive": "Y",
    "WoodDeckSF": 0, "OpenPorchSF": 61, "EnclosedPorch": 0, "3SsnPorch": 0, "ScreenPorch": 0,
    "PoolArea": 0, "PoolQC": None, "Fence": None, "MiscFeature": None, "MiscVal": 0,
    "MoSold": 2, "YrSold": 2008, "SaleType": "WD", "SaleCondition": "Normal",
}  # fmt: skip
FLOAT_COLUMNS = ("LotFrontage", "MasVnrArea", "GarageYrBlt")


def frame(*changes: dict[str, object]) -> pd.DataFrame:
    """One house per dict: BASE with those columns changed, Ids 1, 2, …"""
    rows = [BASE | {"Id": i + 1} | change for i, change in enumerate(changes)]
    houses = pd.DataFrame(rows, columns=list(BASE))
    return houses.astype({c: float for c in FLOAT_COLUMNS})


@pytest.fixture
def houses() -> pd.DataFrame:
    """Six houses in two neighbourhoods; one without basement, garage, veneer or frontage."""
    return frame(
        {"Neighborhood": "A", "LotFrontage": 50.0, "LotArea": 5000},
        {"Neighborhood": "A", "LotFrontage": 70.0, "LotArea": 6000, "ExterQual": "Ex"},
        {"Neighborhood": "A", "LotFrontage": NAN, "LotArea": 7000, "ExterQual": "Fa"},
        {"Neighborhood": "B", "LotFrontage": 100.0, "LotArea": 8000, "PoolQC": "Gd"},
        {"Neighborhood": "B", "LotFrontage": 120.0, "LotArea": 9000, "KitchenQual": "Po"},
        {
            "Neighborhood": "B", "LotFrontage": NAN, "LotArea": 90000, "BsmtQual": None,
            "BsmtCond": None, "BsmtExposure": None, "BsmtFinType1": None, "BsmtFinType2": None,
            "BsmtFinSF1": None, "BsmtFinSF2": None, "BsmtUnfSF": None, "TotalBsmtSF": None,
            "BsmtFullBath": None, "BsmtHalfBath": None, "GarageType": None, "GarageYrBlt": None,
            "GarageFinish": None, "GarageQual": None, "GarageCond": None, "GarageCars": None,
            "GarageArea": None, "MasVnrType": None, "MasVnrArea": None, "Alley": "Grvl",
        },
    )  # fmt: skip


# ---------------------------------------------------------------- HouseFeatures


def test_na_means_none_and_absent_areas_are_zero(houses: pd.DataFrame) -> None:
    out = HouseFeatures().fit(houses).transform(houses)
    assert out["Alley"].tolist() == ["None"] * 5 + ["Grvl"]
    assert out["Fence"].tolist() == ["None"] * 6
    assert out["GarageType"].tolist() == ["Attchd"] * 5 + ["None"]
    assert out["MasVnrType"].tolist() == ["BrkFace"] * 5 + ["None"]
    bare = out.iloc[5]
    for column in ("TotalBsmtSF", "BsmtFinSF1", "BsmtFullBath", "GarageCars", "GarageArea",
                   "MasVnrArea"):  # fmt: skip
        assert bare[column] == 0.0, column
    assert bare["HasBasement"] == 0.0 and bare["HasGarage"] == 0.0
    assert out["HasBasement"].iloc[0] == 1.0 and out["HasFireplace"].iloc[0] == 0.0
    assert not out.isna().any().any()


def test_area_of_a_present_feature_is_imputed_with_the_fit_median(houses: pd.DataFrame) -> None:
    # the house has a garage (GarageType known) but no recorded size: not 0
    fitted = HouseFeatures().fit(houses)
    odd = frame({"GarageArea": None, "GarageCars": None})
    out = fitted.transform(odd)
    assert out["GarageArea"].iloc[0] == np.median([548] * 5 + [0])  # fit median: 548
    assert out["GarageCars"].iloc[0] == 2.0


def test_quality_scales_are_ordinal(houses: pd.DataFrame) -> None:
    out = HouseFeatures().fit(houses).transform(houses)
    assert out["ExterQual"].tolist() == [4, 5, 2, 4, 4, 4]  # Gd Ex Fa Gd Gd Gd
    assert out["KitchenQual"].tolist() == [4, 4, 4, 4, 1, 4]  # Po -> 1
    assert out["PoolQC"].tolist() == [0, 0, 0, 4, 0, 0]  # NA (no pool) -> 0
    assert out["BsmtQual"].tolist() == [4] * 5 + [0]
    assert out["BsmtFinType1"].tolist() == [6] * 5 + [0]  # GLQ -> 6
    assert out["GarageFinish"].tolist() == [2] * 5 + [0]  # RFn -> 2
    assert out["Functional"].tolist() == [7] * 6  # Typ -> 7
    assert pd.api.types.is_float_dtype(out["ExterQual"])


def test_totals_and_ages() -> None:
    one = frame(
        {"TotalBsmtSF": 800, "1stFlrSF": 900, "2ndFlrSF": 300, "FullBath": 2, "HalfBath": 1,
         "BsmtFullBath": 1, "BsmtHalfBath": 1, "OpenPorchSF": 10, "EnclosedPorch": 20,
         "3SsnPorch": 30, "ScreenPorch": 40, "WoodDeckSF": 500, "YearBuilt": 1990,
         "YearRemodAdd": 2000, "YrSold": 2008, "OverallQual": 6}
    )  # fmt: skip
    out = HouseFeatures().fit(one).transform(one).iloc[0]
    assert out["TotalSF"] == 800 + 900 + 300
    assert out["TotalBathrooms"] == 2 + 0.5 + 1 + 0.5
    assert out["TotalPorchSF"] == 10 + 20 + 30 + 40  # the wood deck is not a porch
    assert out["YearsSinceBuilt"] == 18 and out["YearsSinceRemod"] == 8
    assert out["OverallQualSF"] == 6 * 2000
    assert out["Remodelled"] == 1.0 and out["IsNew"] == 0.0 and out["Has2ndFloor"] == 1.0


def test_lot_frontage_medians_come_from_fit_rows_only(houses: pd.DataFrame) -> None:
    fitted = HouseFeatures().fit(houses)
    out = fitted.transform(houses)
    assert out["LotFrontage"].iloc[2] == 60.0  # median of A's 50 and 70
    assert out["LotFrontage"].iloc[5] == 110.0  # median of B's 100 and 120
    # other houses of A in the transformed rows do not move A's median
    new = frame(
        {"Neighborhood": "A", "LotFrontage": NAN},
        {"Neighborhood": "A", "LotFrontage": 1000.0},
        {"Neighborhood": "A", "LotFrontage": 1000.0},
        {"Neighborhood": "Atlantis", "LotFrontage": NAN},
    )
    filled = fitted.transform(new)["LotFrontage"].tolist()
    assert filled == [60.0, 1000.0, 1000.0, 85.0]  # unknown neighbourhood: fit median of all


def test_unknown_levels_and_gaps_at_transform_time(houses: pd.DataFrame) -> None:
    fitted = HouseFeatures().fit(houses)
    new = frame(
        {"Neighborhood": "Atlantis", "ExterQual": "Superb", "MSZoning": None, "RoofMatl": "Gold"}
    )
    out = fitted.transform(new).iloc[0]
    assert out["Neighborhood"] == "Atlantis" and out["RoofMatl"] == "Gold"  # one-hot ignores
    assert out["MSZoning"] == "RL"  # the fit mode
    assert out["ExterQual"] == 4.0  # an unknown level gets the fit median level (Gd)


def test_codes_are_categories_whatever_their_type(houses: pd.DataFrame) -> None:
    fitted = HouseFeatures().fit(houses)
    new = frame({"MSSubClass": 60}, {"MSSubClass": 60.0}, {"MSSubClass": "60"}, {"MoSold": 7})
    out = fitted.transform(new)
    assert out["MSSubClass"].tolist() == ["60"] * 4
    assert out["MoSold"].tolist() == ["2", "2", "2", "7"]


def test_garage_year_after_the_sale_is_a_typo() -> None:
    houses = frame({"GarageYrBlt": 2207.0, "YearRemodAdd": 2007, "YrSold": 2008})
    assert HouseFeatures().fit(houses).transform(houses)["GarageYrBlt"].iloc[0] == 2007.0


def test_missing_input_column_is_a_clear_error(houses: pd.DataFrame) -> None:
    fitted = HouseFeatures().fit(houses)
    with pytest.raises(ValueError, match="GrLivArea"):
        fitted.transform(houses.drop(columns="GrLivArea"))


# ---------------------------------------------------------------- numeric transformers


def test_skewed_columns_are_chosen_in_fit_only() -> None:
    fit_rows = pd.DataFrame({"skewed": [1.0, 1, 1, 1, 2, 100], "even": [1.0, 2, 3, 4, 5, 6]})
    log = SkewedLog1p(threshold=0.75).fit(fit_rows)
    assert fit_rows["skewed"].skew() > 0.75 and abs(fit_rows["even"].skew()) < 0.75
    assert log.skewed_.tolist() == [0]
    # "even" is very skewed here, but fit decided: it stays as it is
    new = pd.DataFrame({"skewed": [0.0, 9.0, -3.0], "even": [1.0, 1.0, 500.0]})
    out = log.transform(new)
    assert out["skewed"].tolist() == pytest.approx([0.0, math.log(10.0), -math.log(4.0)])
    assert out["even"].tolist() == [1.0, 1.0, 500.0]


def test_clip_to_fit_range() -> None:
    clip = ClipToFitRange().fit(np.array([[0.0, 10.0], [1.0, 20.0]]))
    assert clip.transform(np.array([[-5.0, 15.0], [7.0, 99.0]])).tolist() == [
        [0.0, 15.0],
        [1.0, 20.0],
    ]


# ---------------------------------------------------------------- models


def test_outliers_are_dropped_from_fit_only() -> None:
    X = pd.DataFrame({"GrLivArea": [1000, 4500, 4500, 5000]})
    y = np.array([100.0, 500000.0, 150000.0, 200000.0])  # rows 2 and 3: big and cheap
    model = DropTrainingOutliers(DummyRegressor(), min_area=4000, max_price=300000).fit(X, y)
    assert model.dropped_index_ == [2, 3]
    assert model.predict(X).tolist() == [250050.0] * 4  # mean of the kept 100 and 500 000
    kept_all = DropTrainingOutliers(DummyRegressor(), enabled=False).fit(X, y)
    assert kept_all.dropped_index_ == [] and kept_all.predict(X)[0] == y.mean()


FEATURES = FeatureOptions(add_flags=True, skew_threshold=0.75, clip_to_fit_range=True)
OUTLIERS = OutlierRule(drop=True, min_area=4000, max_price=300000)


def test_ensemble_is_the_weighted_mean_of_log_prices(houses: pd.DataFrame) -> None:
    y = pd.Series([150000.0, 210000.0, 120000.0, 260000.0, 180000.0, 90000.0])
    lasso = build_log_pipeline({"kind": "lasso", "alpha": 0.001, "max_iter": 5000}, 0, FEATURES)
    ridge = build_log_pipeline({"kind": "ridge", "alpha": 1.0}, 0, FEATURES)
    blend = build_ensemble({"lasso": lasso, "ridge": ridge}, {"lasso": 0.25, "ridge": 0.75})
    model = in_dollars(blend, OUTLIERS).fit(houses, y)
    new = frame({"Neighborhood": "Atlantis", "ExterQual": "Superb"}, {"GrLivArea": 2500})
    prices = model.predict(new)
    one = in_dollars(lasso, OUTLIERS).fit(houses, y).predict(new)
    two = in_dollars(ridge, OUTLIERS).fit(houses, y).predict(new)
    expected = np.expm1(0.25 * np.log1p(one) + 0.75 * np.log1p(two))
    np.testing.assert_allclose(prices, expected, rtol=1e-10)
    assert np.all(prices > 0) and np.all(np.isfinite(prices))


def test_log_rmse_is_scikit_learns_rmsle() -> None:
    rng = np.random.default_rng(0)
    y, p = rng.uniform(1e4, 5e5, 50), rng.uniform(1e4, 5e5, 50)
    expected = math.sqrt(mean_squared_log_error(y, p))
    assert log_rmse(np.log1p(p), np.log1p(y)) == pytest.approx(expected, rel=1e-12)


def test_fold_ids_partition_every_repeat() -> None:
    folds = fold_ids(23, 5, 3, seed=0)
    assert folds.shape == (3, 23)
    for repeat in folds:
        assert sorted(np.bincount(repeat).tolist()) == [4, 4, 5, 5, 5]
    assert not np.array_equal(folds[0], folds[1])


def test_score_table_means_over_folds_and_repeats() -> None:
    truth = np.zeros(4)
    oof = [pd.DataFrame({"m": [1.0, 1.0, 2.0, 2.0]}), pd.DataFrame({"m": [3.0, 3.0, 3.0, 3.0]})]
    folds = np.array([[0, 0, 1, 1], [0, 1, 0, 1]])
    table = score_table(oof, truth, folds, keep=np.ones(4, dtype=bool))
    assert table.loc[0, "mean"] == pytest.approx((1 + 2 + 3 + 3) / 4)
    assert table.loc[0, "std"] == pytest.approx(np.std([1, 2, 3, 3]))
    without_last = score_table(oof, truth, folds, keep=np.array([True, True, True, False]))
    assert without_last.loc[0, "fold_2"] == 2.0


def test_ensemble_weights_must_name_configured_models() -> None:
    models = {"lasso": {"kind": "lasso"}, "ridge": None, "lgbm": {"kind": "lgbm"}}
    assert ensemble_weights({"lasso": 1, "lgbm": 3}, models) == {"lasso": 1.0, "lgbm": 3.0}
    for weights in ({"lasso": 1, "ridge": 1}, {"lasso": -1, "lgbm": 2}, {"lasso": 0}):
        with pytest.raises(ValueError, match=r"ensemble\.weights"):
            ensemble_weights(weights, models)
