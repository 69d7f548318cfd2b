"""Preference pairs: each corruption breaks what its type says, and nothing else."""

from __future__ import annotations

import numpy as np
import pytest

from ai_roadmap.multimodal.rlhf.form import judge
from ai_roadmap.multimodal.rlhf.pairs import CORRUPTIONS, PAIR_TYPES, Pool, build_pairs
from ai_roadmap.multimodal.rlhf.prompts import Example, Task, examples
from ai_roadmap.nlp.poetry.corpus import FORMS, Poem

POEMS = [
    Poem(("白日依山尽，", "黄河入海流。", "欲穷千里目，", "更上一层楼。")),
    Poem(("床前明月光，", "疑是地上霜。", "举头望明月，", "低头思故乡。")),
    Poem(("松下问童子，", "言师采药去。", "只在此山中，", "云深不知处。")),
    Poem(("朝辞白帝彩云间，", "千里江陵一日还。", "两岸猿声啼不住，", "轻舟已过万重山。")),
    Poem(("红豆生南国，", "春来发几枝。", "愿君多采撷，", "此物最相思。")),
]
# line-final characters of several rhyme groups, each seen three times
POOL = Pool.from_poems(POEMS * 3, min_endings=3)
EXAMPLE = Example(Task(FORMS["wujue"], "日"), POEMS[0])
# what each corruption must break (form / rhyme / prompt / degenerate), the rest kept
BREAKS = {
    "length": {"form_ok"},
    "rhyme": {"rhyme_ok"},
    "repeat": {"degenerate"},
    "prompt": {"prompt_ok"},
    "shuffle": set(),
    "line_count": {"form_ok"},
}


@pytest.mark.parametrize("kind", PAIR_TYPES)
def test_each_corruption_breaks_only_its_property(kind: str) -> None:
    for seed in range(10):
        text = CORRUPTIONS[kind](EXAMPLE, np.random.default_rng(seed), POOL)
        assert text is not None and text != EXAMPLE.completion
        v = judge(EXAMPLE.task, text)
        flags = {"form_ok": not v.form_ok, "rhyme_ok": not v.rhyme_ok,
                 "prompt_ok": not v.prompt_ok, "degenerate": v.degenerate}  # fmt: skip
        broken = {name for name, bad in flags.items() if bad}
        if kind in ("length", "line_count"):
            broken.discard("rhyme_ok")  # no rhyme verdict without the shape
        assert broken == BREAKS[kind], (kind, text)


def test_shuffle_keeps_every_line_end_and_the_characters() -> None:
    text = CORRUPTIONS["shuffle"](EXAMPLE, np.random.default_rng(0), POOL)
    assert text is not None
    lines = [line for line in text.replace("。", "，").split("，") if line]
    assert [line[-1] for line in lines] == [v[-1] for v in EXAMPLE.poem.verses()]
    assert sorted(text) == sorted(EXAMPLE.completion)


def test_pairs_come_only_from_poems_that_pass_the_judge() -> None:
    tasks = examples(POEMS, seed=0)
    pairs = build_pairs(tasks, PAIR_TYPES, POOL, seed=0)
    # 寻隐者不遇: 去 (qu) and 处 (chu) do not rhyme in modern Mandarin: no pair from it
    assert not judge(tasks[2].task, tasks[2].completion).all_ok
    assert all(p.chosen != POEMS[2].body for p in pairs)
    assert {p.kind for p in pairs} == set(PAIR_TYPES)
    assert all(judge(Task.parse(p.prompt), p.chosen).all_ok for p in pairs)


def test_an_unknown_pair_type_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown pair types"):
        build_pairs([EXAMPLE], ["rhyme", "meter"], POOL, seed=0)
