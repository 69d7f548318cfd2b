"""`roadmap poem`: one-line errors with exit codes, and poems from the registry's model."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from ai_roadmap.cli import app
from ai_roadmap.nlp.poetry.corpus import Poem
from ai_roadmap.nlp.poetry.model import LSTMConfig, PoetryLSTM
from ai_roadmap.nlp.poetry.store import MILESTONE, NOT_TRAINED, save
from ai_roadmap.nlp.poetry.vocab import Vocab
from ai_roadmap.settings import get_settings

runner = CliRunner()
POEMS = [
    Poem(("白日依山尽，", "黄河入海流。", "欲穷千里目，", "更上一层楼。")),
    Poem(("春眠不觉晓，", "处处闻啼鸟。", "夜来风雨声，", "花落知多少。")),
    Poem(("朝辞白帝彩云间，", "千里江陵一日还。", "两岸猿声啼不住，", "轻舟已过万重山。")),
    Poem(("夏秋冬天地人和，", "明月清风满江城。")),
]


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny tensors: threads only sync


def tiny_model_folder(folder: Path) -> Path:
    """An untrained model folder: any weights must still give well-formed poems."""
    vocab = Vocab.from_poems(POEMS)
    torch.manual_seed(0)
    sizes = {"embed_dim": 8, "hidden_size": 12, "num_layers": 1, "dropout": 0.0}
    model = PoetryLSTM(LSTMConfig(len(vocab), **sizes))  # type: ignore[arg-type]
    return save(model, vocab, folder, {"bleu3": 0.0})


@pytest.fixture
def registered(roadmap_home: Path, tmp_path: Path) -> Path:
    """A tiny s3.poetry model registered the way the runner registers one."""
    from ai_roadmap import tracking

    folder = tiny_model_folder(tmp_path / "model")
    settings = get_settings()
    with tracking.milestone_run(settings, MILESTONE, "smoke") as (client, run_id):
        client.log_artifacts(run_id, str(folder), artifact_path="model")
        tracking.register_model(client, MILESTONE, run_id, "fail", "smoke")
    return folder


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["poem", *args])


def one_line_error(result, code: int, text: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and text in errors[0], result.output


def test_no_trained_model_says_how_to_train_one(roadmap_home: Path) -> None:
    result = invoke("--head", "春夏秋冬")
    one_line_error(result, 1, NOT_TRAINED)
    assert "roadmap run s3.poetry --scale quick" in NOT_TRAINED


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--form", "sonnet"], "unknown form 'sonnet'"),
        (["--head", "春夏秋"], "--head needs 4 characters for wujue"),
        (["--form", "qilv", "--head", "春夏秋冬"], "--head needs 8 characters for qilv"),
        (["--first-line", "白日依山"], "--first-line needs 5 characters for wujue"),
        (["--form", "qijue", "--first-line", "白日依山尽"], "needs 7 characters for qijue"),
        (["--head", "春夏秋冬", "--first-line", "白日依山尽"], "must start with the first"),
        (["--temperature", "0"], "--temperature must be > 0"),
        (["--top-p", "1.5"], "--top-p must lie in (0, 1]"),
    ],
)
def test_bad_requests_fail_in_one_line_before_any_model_is_needed(
    roadmap_home: Path, args: list[str], text: str
) -> None:
    one_line_error(invoke(*args), 2, text)


def test_characters_the_model_never_saw_are_refused(registered: Path) -> None:
    one_line_error(invoke("--head", "春夏秋龘"), 2, "'龘' is not a character this model knows")


def test_an_acrostic_from_the_registered_model(registered: Path) -> None:
    result = invoke("--head", "春夏秋冬", "--seed", "3")
    assert result.exit_code == 0, result.output
    couplets = result.stdout.splitlines()
    assert len(couplets) == 2 and all(len(c) == 12 for c in couplets)
    lines = [c[i : i + 6] for c in couplets for i in (0, 6)]
    assert [line[0] for line in lines] == list("春夏秋冬")
    assert [line[-1] for line in lines] == ["，", "。", "，", "。"]
    assert "s3.poetry v1 from the registry" in result.output
    assert invoke("--head", "春夏秋冬", "--seed", "3").stdout == result.stdout  # same seed


def test_a_continuation_in_traditional_script_keeps_its_first_line(registered: Path) -> None:
    result = invoke("--first-line", "朝辭白帝彩雲間", "--beam", "2")  # 七言: form from length
    assert result.exit_code == 0, result.output
    couplets = result.stdout.splitlines()
    assert couplets[0].startswith("朝辞白帝彩云间，") and len(couplets) == 2
    assert "七言绝句 (qijue) · beam 2" in result.output


def test_a_model_folder_can_be_named_and_a_damaged_one_is_refused(
    roadmap_home: Path, tmp_path: Path
) -> None:
    folder = tiny_model_folder(tmp_path / "model")
    result = invoke("--model", str(folder), "--form", "wulv", "--seed", "1")
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 4
    weights = folder / "model.pt"
    weights.write_bytes(weights.read_bytes()[:-10])
    damaged = invoke("--model", str(folder))
    one_line_error(damaged, 1, "model.pt: sha256 ")
    assert "differs from its card's" in damaged.output


@pytest.mark.parametrize(
    ("args", "couplets", "length"),
    [
        (["--head", "春夏秋冬天地人和"], 4, 12),  # eight heads: 五言律诗
        (["--head", "夏秋冬天地人和明", "--first-line", "夏秋冬天地人和"], 4, 16),  # 七言律诗
        ([], 2, 12),  # nothing said: 五言绝句
    ],
)
def test_the_form_follows_from_the_heads_and_first_line(
    registered: Path, args: list[str], couplets: int, length: int
) -> None:
    result = invoke(*args, "--seed", "0")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == couplets and all(len(line) == length for line in lines)
