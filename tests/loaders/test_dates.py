"""The written-dates task: known renderings, ordinals, one date per string, a seeded
generator whose held-out dates are never seen in training."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ai_roadmap.datasets import dates


def test_known_renderings() -> None:
    day = date(2021, 3, 3)  # a Wednesday
    assert dates.render(day, "d MMMM yyyy") == "3 March 2021"
    assert dates.render(day, "MMMM d, yyyy") == "March 3, 2021"
    assert dates.render(day, "MM/dd/yyyy") == "03/03/2021"
    assert dates.render(day, "EEE, d MMM yy") == "Wed, 3 Mar 21"
    assert dates.render(day, "yyyy年M月d日") == "2021年3月3日"
    assert dates.render(date(1999, 12, 21), "M/d/yy") == "12/21/99"
    assert dates.render(date(1999, 12, 21), "dd.MM.yyyy") == "21.12.1999"


@pytest.mark.parametrize(
    ("n", "text"),
    [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"), (13, "13th"),
     (21, "21st"), (22, "22nd"), (23, "23rd"), (30, "30th"), (31, "31st")],
)  # fmt: skip
def test_ordinal(n: int, text: str) -> None:
    assert dates.ordinal(n) == text


def test_every_string_names_one_date() -> None:
    """Over the whole 1950–2049 window no string stands for two dates, in any format."""
    first, meaning = date(1950, 1, 1), {}
    for k in range((date(2049, 12, 31) - first).days + 1):
        day = first + timedelta(days=k)
        for fmt in dates.FORMATS:
            assert meaning.setdefault(dates.render(day, fmt), day) == day


def test_generator_is_seeded() -> None:
    a, b, c = (
        dates.make_dates(3, 300, 50),
        dates.make_dates(3, 300, 50),
        dates.make_dates(4, 300, 50),
    )
    assert a == b
    assert a != c


def test_held_out_dates_are_never_seen_in_training() -> None:
    train, test = dates.make_dates(0, 20000, 2000)
    assert len(set(test.targets)) == 2000  # distinct held-out dates
    assert not set(test.targets) & set(train.targets)
    assert not set(test.sources) & set(train.sources)
    assert set(train.formats) == set(dates.FORMATS)
    for text, iso, fmt in zip(test.sources, test.targets, test.formats, strict=True):
        assert dates.render(date.fromisoformat(iso), fmt) == text
        assert 1950 <= int(iso[:4]) <= 2049


def test_generator_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="century"):
        dates.make_dates(0, 10, 5, first_year=1900, last_year=2049)
    with pytest.raises(ValueError, match="n_test"):
        dates.make_dates(0, 10, 0)
