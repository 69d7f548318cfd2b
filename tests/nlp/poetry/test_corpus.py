"""s3.poetry corpus: cleaning, forms, de-duplication, the split by poem, vocabulary, cache."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ai_roadmap.nlp.poetry import corpus
from ai_roadmap.nlp.poetry.corpus import (
    Cleaning,
    Poem,
    clean_corpus,
    clean_text,
    form_of,
    load_corpus,
    split_poems,
    to_simplified,
)
from ai_roadmap.nlp.poetry.vocab import BOS, EOS, SPECIALS, UNK, Vocab
from ai_roadmap.settings import get_settings

JING_YE_SI = "床前明月光，疑是地上霜。舉頭望明月，低頭思故鄉。"


def poem(text: str) -> Poem:
    lines, reason = clean_text(text, Cleaning())
    assert not reason, reason
    return Poem(lines)


# ── cleaning and forms ───────────────────────────────────────────────────────


def test_a_clean_poem_splits_into_lines_with_their_marks() -> None:
    lines, reason = clean_text("白日依山尽，黄河入海流。\n欲穷千里目，更上一层楼。", Cleaning())
    assert reason == ""
    assert lines == ("白日依山尽，", "黄河入海流。", "欲穷千里目，", "更上一层楼。")


def test_editors_notes_are_removed_and_the_mark_left_behind_collapses() -> None:
    text = "白日（一作「月」）依山尽，黄河入海流。（見《全唐詩》卷一。）。"
    lines, reason = clean_text(text, Cleaning())
    assert reason == "" and lines == ("白日依山尽，", "黄河入海流。")
    _, reason = clean_text(text, Cleaning(strip_notes=False))
    assert reason == "bracketed annotation"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("白日依山□，黄河入海流。", "missing character"),
        ("白日依山尽，[黄河]入海流。", "bracketed annotation"),
        ("白日依山尽；黄河入海流。", "odd punctuation or symbol"),
        ("白日依山尽，黄河入海流", "empty or unterminated line"),
        ("，白日依山尽，黄河入海流。", "empty or unterminated line"),
        ("白日依山尽。", "fewer than 2 lines"),
    ],
)
def test_dropped_poems_say_why(text: str, reason: str) -> None:
    lines, why = clean_text(text, Cleaning())
    assert lines == () and why == reason


def test_a_poem_longer_than_max_chars_is_dropped() -> None:
    assert clean_text("白日依山尽，黄河入海流。", Cleaning(max_chars=12))[1] == ""
    assert clean_text("白日依山尽，黄河入海流。", Cleaning(max_chars=11))[1].startswith("longer")


@pytest.mark.parametrize(
    ("lines", "chars", "form"),
    [(4, 5, "wujue"), (4, 7, "qijue"), (8, 5, "wulv"), (8, 7, "qilv"), (6, 5, "other")],
)
def test_forms_are_labelled_by_shape(lines: int, chars: int, form: str) -> None:
    text = [("山" * chars) + ("，" if i % 2 == 0 else "。") for i in range(lines)]
    assert form_of(text) == form


def test_mixed_line_lengths_are_no_regulated_form() -> None:
    assert form_of(["山山山山山，", "水水水水水水水。", "山山山山山，", "水水水水水。"]) == "other"


def test_opencc_converts_to_simplified_script() -> None:
    assert to_simplified([JING_YE_SI, "雲"]) == [
        "床前明月光，疑是地上霜。举头望明月，低头思故乡。",
        "云",
    ]


def test_duplicates_are_kept_once() -> None:
    texts = [JING_YE_SI, "白日依山尽，黄河入海流。", JING_YE_SI, "白日依山□，黄河入海流。"]
    result = clean_corpus(texts, Cleaning())
    assert [p.body for p in result.poems] == [JING_YE_SI, "白日依山尽，黄河入海流。"]
    assert result.dropped == {"duplicate": 1, "missing character": 1}
    assert result.source_poems == 4


# ── split ────────────────────────────────────────────────────────────────────


def many_poems(n: int) -> list[Poem]:
    chars = "天地玄黄宇宙洪荒日月盈昃辰宿列张寒来暑往秋收冬藏"
    return [Poem((f"{chars[i % 24]}{chars[i // 24 % 24]}山水云，", f"{i:05d}。")) for i in range(n)]


def test_split_is_a_partition_by_poem_of_the_requested_sizes() -> None:
    poems = many_poems(1000)
    splits = split_poems(poems, 0.1, 0.05, seed=0)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (850, 100, 50)
    bodies = [{p.body for p in part} for part in (splits.train, splits.val, splits.test)]
    assert not (bodies[0] & bodies[1] or bodies[0] & bodies[2] or bodies[1] & bodies[2])
    assert set().union(*bodies) == {p.body for p in poems}


def test_split_depends_on_the_seed_only() -> None:
    poems = many_poems(300)
    first, again = split_poems(poems, 0.1, 0.1, 7), split_poems(poems, 0.1, 0.1, 7)
    other = split_poems(poems, 0.1, 0.1, 8)
    assert first.test == again.test and first.val == again.val
    assert first.test != other.test


def test_bad_fractions_are_refused() -> None:
    with pytest.raises(ValueError, match="fraction"):
        split_poems(many_poems(10), 0.6, 0.5, 0)


@pytest.mark.data
@pytest.mark.slow
def test_no_poem_of_the_real_corpus_is_in_two_splits(roadmap_home: Path) -> None:
    poems = load_corpus(Cleaning(limit=3000)).poems
    splits = split_poems(poems, 0.05, 0.05, 0)
    train = {p.body for p in splits.train}
    assert not train & {p.body for p in splits.test}
    assert not train & {p.body for p in splits.val}
    assert len(poems) > 2500 and all(p.lines for p in poems)


# ── vocabulary ───────────────────────────────────────────────────────────────


def test_vocabulary_cut_off_and_unknown_token() -> None:
    train = [poem("白日依山尽，白河入海流。"), poem("白云千里远，白鸟一山空。")]
    vocab = Vocab.from_poems(train, min_freq=2)
    assert vocab.tokens[: len(SPECIALS)] == SPECIALS
    assert vocab.tokens[len(SPECIALS)] == "白"  # the most frequent character first
    assert "山" in vocab and "尽" not in vocab
    assert vocab.id("尽") == vocab.id(UNK)
    assert "，" in vocab and "。" in vocab


def test_encode_decode_round_trip_with_form_token(tmp_path: Path) -> None:
    p = poem("白日依山尽，黄河入海流。欲穷千里目，更上一层楼。")
    vocab = Vocab.from_poems([p])
    ids = vocab.encode(p)
    assert ids[0] == vocab.id(BOS) and ids[1] == vocab.form_id("wujue") and ids[-1] == vocab.id(EOS)
    assert vocab.decode(ids) == p.body
    vocab.save(tmp_path / "vocab.json")
    assert Vocab.load(tmp_path / "vocab.json") == vocab


# ── cache ────────────────────────────────────────────────────────────────────


@pytest.fixture
def fake_poems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data home whose tang-poems dataset holds four poems (one dropped, one duplicate)."""
    folder = tmp_path / "data" / "tang-poems"
    folder.mkdir(parents=True)
    records = [JING_YE_SI, "白日依山尽，黄河入海流。", JING_YE_SI, "白日依山□，黄河入海流。"]
    with gzip.open(folder / "tang.jsonl.gz", "wt", encoding="utf-8") as sink:
        for text in records:
            row = {"author": "李白", "title": "t", "paragraphs": [text[:12], text[12:]]}
            sink.write(json.dumps(row, ensure_ascii=False) + "\n")
    monkeypatch.setenv("ROADMAP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ROADMAP_DATA_HOME", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield folder
    get_settings.cache_clear()


def test_the_cleaned_corpus_is_cached_and_read_back(
    fake_poems: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = load_corpus(Cleaning())
    assert [p.body for p in built.poems] == [
        "床前明月光，疑是地上霜。举头望明月，低头思故乡。",
        "白日依山尽，黄河入海流。",
    ]
    files = list((fake_poems / "cache").iterdir())
    assert len(files) == 1 and files[0].name.startswith("corpus-")

    def no_conversion(*args: object) -> None:
        raise AssertionError("the cache was not used")

    monkeypatch.setattr(corpus, "to_simplified", no_conversion)
    cached = load_corpus(Cleaning())
    assert cached.poems == built.poems and cached.dropped == built.dropped
    assert corpus.cache_file(Cleaning(max_chars=100)) != files[0]  # parameters name the file


def test_a_failed_cache_write_leaves_no_file(
    fake_poems: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(corpus.os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        load_corpus(Cleaning())
    assert list((fake_poems / "cache").iterdir()) == []
