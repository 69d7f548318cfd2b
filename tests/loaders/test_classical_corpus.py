"""classical-corpus: the conversion on a tiny archive, and the pulled file's schema."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

from ai_roadmap.datasets.classical import COLLECTIONS, FILE, collection_of, convert


def test_members_are_sorted_into_the_four_collections() -> None:
    assert collection_of("package/dist/quantangshi/poet.song.12000.json") == ("song", 12000)
    assert collection_of("package/dist/quantangshi/poet.tang.3000.json") == ("tang", 3000)
    assert collection_of("package/dist/songci/ci.song.2000.json") == ("songci", 2000)
    assert collection_of("package/dist/yudingquantangshi/json/001.json") == ("yuding", 1)
    assert collection_of("package/dist/songci/author.song.json") is None


def test_convert_orders_simplifies_and_drops_empty_poems(tmp_path: Path) -> None:
    def member(name: str, records: list[dict[str, object]]) -> Path:
        path = tmp_path / name.replace("/", "_")
        path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
        return path

    members = {
        "d/quantangshi/poet.song.1000.json": member(
            "d/quantangshi/poet.song.1000.json",
            [{"author": "蘇軾", "title": "題西林壁", "paragraphs": ["橫看成嶺側成峰，", "遠近"]}],
        ),
        "d/quantangshi/poet.tang.0.json": member(
            "d/quantangshi/poet.tang.0.json",
            [
                {"author": "李白", "title": "靜夜思", "paragraphs": ["床前明月光，"]},
                {"author": "無名", "title": "空", "paragraphs": []},
            ],
        ),
        "d/songci/ci.song.0.json": member(
            "d/songci/ci.song.0.json",
            [{"author": "李清照", "rhythmic": "如夢令", "paragraphs": ["昨夜"]}],
        ),
    }
    out = tmp_path / "out"
    out.mkdir()
    convert(members, out)
    with gzip.open(out / FILE, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    assert [r["collection"] for r in rows] == ["tang", "song", "songci"]
    assert rows[0] == {
        "collection": "tang",
        "author": "李白",
        "title": "静夜思",
        "text": "床前明月光，",
    }
    assert rows[1]["text"] == "横看成岭侧成峰，\n远近" and rows[1]["author"] == "苏轼"
    assert rows[2]["title"] == "如梦令"


@pytest.mark.data
@pytest.mark.slow
def test_the_pulled_corpus_holds_the_four_collections(roadmap_home: Path) -> None:
    from opencc import OpenCC

    from ai_roadmap.datasets import require

    counts: Counter[str] = Counter()
    sample = []
    with gzip.open(require("classical-corpus") / FILE, "rt", encoding="utf-8") as handle:
        for i, line in enumerate(handle):
            counts[line.split('"', 4)[3]] += 1  # {"collection": "<name>", … (first key)
            if i % 997 == 0:
                sample.append(json.loads(line))
    # the package's record counts (a few records with no lines are dropped)
    published = {"tang": 57607, "song": 254248, "songci": 21053, "yuding": 43103}
    assert set(counts) == set(COLLECTIONS)
    assert all(published[k] - 30 <= counts[k] <= published[k] for k in published), counts
    for row in sample:
        assert set(row) == {"collection", "author", "title", "text"} and row["text"].strip()
    converter = OpenCC("t2s")
    assert sum(converter.convert(r["text"]) != r["text"] for r in sample) == 0  # simplified
