"""people-daily-ner: the BIO conversion on hand-made lines, and the pulled file's schema."""

from __future__ import annotations

import collections
import hashlib
from pathlib import Path

import pytest

from ai_roadmap.datasets import people_daily as pd
from ai_roadmap.datasets.people_daily import Sentence, article_split

ORIGINAL = [  # the original PKU release: ids and bracketed compounds
    "19980101-01-001-001/m  迈向/v  新/a  世纪/n  ",
    "19980101-01-001-002/m  通过/p  [中央/n  人民/n  广播/vn  电台/n]nt  向/p  "
    "[香港/ns  特别/a  行政区/n]ns  同胞/n  、/w  江/nr  泽民/nr  问好/v  。/w  ",
    "19980101-01-002-001/m  克林顿/nr  访问/v  北京/ns  上海/ns  。/w  ",
]


def labels_of(line: str) -> tuple[str, tuple[str, ...]]:
    return pd.bio_labels(pd.parse_line(line))


def entities(text: str, labels: tuple[str, ...]) -> list[tuple[str, str]]:
    found, start = [], None
    for i, tag in enumerate((*labels, "O")):
        if start is not None and not tag.startswith("I-"):
            found.append((labels[start][2:], text[start:i]))
            start = None
        if tag.startswith("B-"):
            start = i
    return found


def test_bracketed_compound_is_one_entity_of_its_outer_tag() -> None:
    text, labels = labels_of(ORIGINAL[1])
    assert text == "通过中央人民广播电台向香港特别行政区同胞、江泽民问好。"
    assert entities(text, labels) == [
        ("ORG", "中央人民广播电台"),
        ("LOC", "香港特别行政区"),
        ("PER", "江泽民"),
    ]


def test_names_merge_pairwise_and_locations_stay_apart() -> None:
    text, labels = labels_of("李/nr  鹏/nr  乔/nr  石/nr  会见/v  克林顿/nr  。/w")
    assert entities(text, labels) == [("PER", "李鹏"), ("PER", "乔石"), ("PER", "克林顿")]
    text, labels = labels_of(ORIGINAL[2])
    assert entities(text, labels) == [("PER", "克林顿"), ("LOC", "北京"), ("LOC", "上海")]
    assert labels[5:7] == ("B-LOC", "I-LOC") and labels[7] == "B-LOC"


def test_article_id_from_the_line_id_and_split_by_hash() -> None:
    ids = pd.article_ids(ORIGINAL)
    assert ids == ["19980101-01-001", "19980101-01-001", "19980101-01-002"]
    digest = int(hashlib.sha256(b"19980101-01-001").hexdigest(), 16) % 10
    expected = {0: "test", 1: "dev"}.get(digest, "train")
    assert article_split("19980101-01-001") == expected


def test_without_ids_an_article_starts_at_a_heading_after_body_text() -> None:
    lines = [
        "北京/ns  举行/v  音乐会/n",  # heading
        "（/w  新华社/nt  记者/n  摄/Vg  ）/w",
        "今晚/t  很/d  热闹/a  。/w",
        "挂/v  红灯/n  （/w  图片/n  ）/w",  # heading with a trailing note
        "元旦/t  来临/v  。/w",
        "致/v  读者/n",  # heading
        "副/b  标题/n",  # a second heading line stays in the same article
        "谢谢/v  。/w",
    ]
    ids = pd.article_ids(lines)
    assert ids == ["199801-L00001"] * 3 + ["199801-L00004"] * 2 + ["199801-L00006"] * 3
    assert pd.line_splits(lines) == [article_split(i) for i in ids]


def test_split_rule_spreads_articles_about_80_10_10() -> None:
    counts = collections.Counter(article_split(f"199801-L{i:05d}") for i in range(1, 5001))
    assert 0.07 < counts["test"] / 5000 < 0.13 and 0.07 < counts["dev"] / 5000 < 0.13


# ── the pulled dataset ───────────────────────────────────────────────────────────────


@pytest.fixture(scope="module")
def rows(data_home: Path) -> list[dict[str, object]]:
    import gzip
    import json

    path = data_home / "people-daily-ner" / pd.SENTENCES
    if not path.exists():
        pytest.fail("run `roadmap data pull people-daily-ner` (make test pulls it)")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def test_schema_bio_validity_and_splits(rows: list[dict[str, object]]) -> None:
    assert len(rows) == 19484  # every line of 199801.txt has text
    assert set(rows[0]) == {"line", "article", "split", "text", "labels", "raw"}
    allowed = {"O"} | {f"{p}-{t}" for p in "BI" for t in pd.TYPES}
    by_article: dict[str, set[str]] = collections.defaultdict(set)
    for row in rows:
        labels = str(row["labels"]).split()
        assert len(labels) == len(str(row["text"])) and set(labels) <= allowed
        for prev, tag in zip(["O", *labels], labels, strict=False):
            if tag.startswith("I-"):
                assert prev[2:] == tag[2:], row["line"]  # I-X only after B-X / I-X
        assert row["split"] == article_split(str(row["article"]))
        by_article[str(row["article"])].add(str(row["split"]))
    assert all(len(s) == 1 for s in by_article.values())  # an article is in one split


def test_counts_per_split_and_type(rows: list[dict[str, object]]) -> None:
    sentences = collections.Counter(str(r["split"]) for r in rows)
    assert sum(sentences.values()) == 19484
    for split in pd.SPLITS:
        assert sentences[split] / 19484 > 0.06 or split == "train"
    assert sentences["train"] > 0.75 * 19484
    ents = collections.Counter(
        t[2:] for r in rows if r["split"] == "test" for t in str(r["labels"]).split() if t[0] == "B"
    )
    assert ents["PER"] > 1000 and ents["LOC"] > 1500 and ents["ORG"] > 200
    per_type = collections.Counter(
        t[2:] for r in rows for t in str(r["labels"]).split() if t[0] == "B"
    )
    # 35 267 nr words, mostly surname + given name pairs; 27 890 ns; 3 573 nt
    assert per_type["LOC"] == sum(
        str(r["raw"]).count("/ns ") + str(r["raw"]).endswith("/ns") for r in rows
    )
    assert per_type["ORG"] == sum(
        str(r["raw"]).count("/nt ") + str(r["raw"]).endswith("/nt") for r in rows
    )
    assert 18000 < per_type["PER"] < 21000


def test_hand_checked_lines(rows: list[dict[str, object]]) -> None:
    line2 = next(r for r in rows if r["line"] == 2)
    assert line2["raw"] == "中共中央/nt  总书记/n  、/w  国家/n  主席/n  江/nr  泽民/nr"
    s = Sentence(2, "", "", str(line2["text"]), tuple(str(line2["labels"]).split()))
    assert entities(s.text, s.labels) == [("ORG", "中共中央"), ("PER", "江泽民")]
    line4 = next(r for r in rows if r["line"] == 4)
    found = entities(str(line4["text"]), tuple(str(line4["labels"]).split()))
    assert found == [("ORG", "中共中央"), ("PER", "江泽民"), ("ORG", "新华社"), ("PER", "兰红光")]
    line28 = next(r for r in rows if r["line"] == 28)
    names = [e for kind, e in entities(str(line28["text"]), tuple(str(line28["labels"]).split()))]
    assert names[:4] == ["江泽民", "李鹏", "乔石", "朱镕基"]
