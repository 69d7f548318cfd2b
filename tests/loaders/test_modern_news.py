"""modern-news: tag stripping, the article rule shared with NER, the split, the pulled files."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import pytest

from ai_roadmap.datasets.modern_news import plain_text
from ai_roadmap.datasets.people_daily import _is_heading as is_heading
from ai_roadmap.datasets.people_daily import article_ids
from ai_roadmap.datasets.people_daily import article_split as people_daily_split


def test_plain_text_strips_tags_brackets_and_the_line_id() -> None:
    line = "19980101-01-001-002/m  [中国/ns  政府/n]nt  迈向/v  １９９８年/t  。/w"
    assert plain_text(line) == "中国政府迈向１９９８年。"
    assert plain_text("江/nr  泽民/nr  发表/v  讲话/n  ") == "江泽民发表讲话"


def test_the_split_follows_sha256_mod_10() -> None:
    for article in ("19980101-01-001", "199801-L00017", "x"):
        bucket = int(hashlib.sha256(article.encode()).hexdigest(), 16) % 10
        expected = {0: "test", 1: "dev"}.get(bucket, "train")
        assert people_daily_split(article) == expected
    shares = Counter(people_daily_split(f"a{i}") for i in range(20000))
    assert abs(shares["test"] / 20000 - 0.1) < 0.01 and abs(shares["dev"] / 20000 - 0.1) < 0.01


def test_articles_come_from_the_line_id_when_present() -> None:
    lines = ["19980101-01-001-001/m  标题/n", "19980101-01-001-002/m  正文/n  。/w",
             "19980101-01-002-001/m  另/r  一/m  篇/q"]  # fmt: skip
    assert article_ids(lines) == ["19980101-01-001", "19980101-01-001", "19980101-01-002"]


def test_without_ids_an_article_starts_at_a_heading_after_body_text() -> None:
    lines = [
        "北京/ns  举行/v  音乐会/n",  # heading: no final mark
        "（/w  新华社/nt  记者/n  ）/w",  # a bracketed byline is not a heading
        "音乐会/n  很/d  成功/a  。/w",
        "李鹏/nr  考察/v  企业/n",  # heading after body: a new article
        "副标题/n",  # a second heading line stays in the same article
        "正文/n  。/w",
    ]
    ids = article_ids(lines)
    assert ids == ["199801-L00001"] * 3 + ["199801-L00004"] * 3
    assert is_heading("挂起红灯迎新年（图片）") and not is_heading("谢谢！（新华社北京电）")


@pytest.mark.data
def test_the_pulled_news_matches_the_ner_split(roadmap_home: Path) -> None:
    """19 484 paragraphs in 3 145 articles; line counts per split as the NER dataset has them."""
    from ai_roadmap.datasets.modern_news import iter_news, iter_reviews

    articles = list(iter_news())
    lines = Counter()
    for a in articles:
        assert a["split"] == people_daily_split(str(a["article"]))
        assert all(isinstance(t, str) and t and "/" not in t[-3:] for t in a["lines"])
        lines[a["split"]] += len(a["lines"])
    assert len(articles) == 3145 and sum(lines.values()) == 19484
    assert lines == {"train": 15997, "dev": 1783, "test": 1704}
    assert articles[1]["article"] == "199801-L00017"
    reviews = list(iter_reviews())
    assert {r["polarity"] for r in reviews} == {"pos", "neg"}
    assert len(reviews) == 35123 and all(r["text"].strip() for r in reviews)
