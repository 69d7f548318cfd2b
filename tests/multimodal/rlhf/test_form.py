"""The rule-based judge: rhyme groups, tones, and each check failing on its own."""

from __future__ import annotations

import pytest

from ai_roadmap.multimodal.rlhf.form import degenerate, judge, rhyme_group, tone_class
from ai_roadmap.multimodal.rlhf.prompts import Task
from ai_roadmap.nlp.poetry.corpus import FORMS

DENGGUAN = "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。"
JINGYESI = "床前明月光，疑是地上霜。举头望明月，低头思故乡。"
WUJUE_RI = Task(FORMS["wujue"], "日")


def test_rhyme_groups_merge_medials_as_the_thirteen_rhymes_do() -> None:
    assert rhyme_group("光") == rhyme_group("霜") == rhyme_group("乡") == "ang"
    assert rhyme_group("流") == rhyme_group("楼") == "ou"  # iou and ou
    assert rhyme_group("天") == rhyme_group("山") == "an"  # ian and an
    assert rhyme_group("明") == rhyme_group("东") == "eng"  # ing, ong, eng
    assert rhyme_group("花") != rhyme_group("光")


def test_tone_classes() -> None:
    assert [tone_class(c) for c in "天平好去"] == ["p", "p", "z", "z"]


def test_a_real_quatrain_passes_every_check() -> None:
    v = judge(WUJUE_RI, DENGGUAN)
    assert v.form_ok and v.rhyme_ok and v.prompt_ok and v.all_ok and not v.degenerate


@pytest.mark.parametrize(
    ("text", "failed"),
    [
        ("白日依山尽，黄河入流。欲穷千里目，更上一层楼。", "form_ok"),  # a line too short
        ("白日依山尽。黄河入海流，欲穷千里目，更上一层楼。", "form_ok"),  # marks swapped
        ("白日依山尽，黄河入海流。欲穷千里目。", "form_ok"),  # three lines
        ("白日依山尽，黄河入海花。欲穷千里目，更上一层楼。", "rhyme_ok"),
        (JINGYESI, "prompt_ok"),  # no 日 in the first line
    ],
)
def test_each_break_fails_its_own_check_only(text: str, failed: str) -> None:
    v = judge(WUJUE_RI, text)
    assert not getattr(v, failed) and not v.all_ok
    others = {"form_ok", "rhyme_ok", "prompt_ok"} - {failed}
    if failed != "form_ok":  # a broken shape also voids the rhyme check
        assert all(getattr(v, name) for name in others)


def test_the_wrong_form_fails_and_unparseable_text_is_judged_not_raised() -> None:
    assert not judge(Task(FORMS["qijue"], "日"), DENGGUAN).form_ok
    v = judge(WUJUE_RI, "白日依山尽")  # no closing mark
    assert not v.form_ok and not v.prompt_ok and v.degenerate


def test_degenerate_repetition() -> None:
    assert degenerate(["月月月月光", "疑是地上霜"])
    assert degenerate(["明月照明月", "月下思故乡"])  # 月 three times
    assert not degenerate(["白日依山尽", "黄河入海流"])


def test_a_task_round_trips_through_its_prompt() -> None:
    task = Task(FORMS["qijue"], "月")
    assert task.prompt == "写一首七言绝句，首句含「月」："
    assert Task.parse(task.prompt) == task
    with pytest.raises(ValueError, match="not a task prompt"):
        Task.parse("写一首五言律诗，首句含「月」：")
