"""s4.mlm end to end at smoke scale through the runner: figures, checks, the registered encoder."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from ai_roadmap.runner import RunReport

pytestmark = [pytest.mark.data, pytest.mark.slow]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, data_home: Path) -> Iterator[Path]:
    from ai_roadmap.settings import get_settings

    home = tmp_path_factory.mktemp("mlm-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ROADMAP_HOME", str(home))
        patch.setenv("ROADMAP_DATA_HOME", str(data_home))
        for name in ("MLFLOW_TRACKING_URI", "ROADMAP_DATA_DIR", "ROADMAP_TRACKING_URI"):
            patch.delenv(name, raising=False)
        get_settings.cache_clear()
        yield home
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def smoke(home: Path) -> RunReport:
    from ai_roadmap import runner

    return runner.run_milestone("s4.mlm", "smoke")


def test_smoke_reports_the_losses_tokens_and_sizes(smoke: RunReport) -> None:
    m = smoke.metrics
    assert smoke.proxy and smoke.verdict == "not measured"
    assert m["checks_failed"] == 0, [n for n in smoke.notes if n.startswith("FAIL")]
    # an untrained model scores about ln V; both phases bring the news loss down
    assert abs(m["news_loss_initial"] - math.log(m["vocab_size"])) < 0.5
    assert m["mlm_loss"] < m["news_loss_before"] < m["news_loss_initial"]
    assert m["mlm_perplexity"] == pytest.approx(math.exp(m["mlm_loss"]))
    assert m["news_loss_gain"] == pytest.approx(m["news_loss_before"] - m["mlm_loss"])
    # smoke: 12 steps of 16 blocks of at most 64 positions per phase
    for phase in ("classical", "news"):
        assert m[f"steps_{phase}"] == 12
        assert 12 * 16 * 32 < m[f"tokens_seen_{phase}"] <= 12 * 16 * 64
    assert 60_000 <= m["chars_classical_train"] < 70_000
    assert 30_000 <= m["chars_news_train"] < 40_000
    assert m["chars_source_total"] > 28_000_000
    assert abs(m["masking_selected_rate"] - 0.15) < 0.02
    assert any(n.startswith("pass heldout_shares_text") for n in smoke.notes)
    assert {"loss.png", "history.json"} <= {Path(a).name for a in smoke.artifacts}


def test_the_registered_encoder_loads_offline_with_auto_classes(
    smoke: RunReport, tmp_path: Path
) -> None:
    import torch
    from transformers import AutoModel, AutoModelForMaskedLM, AutoTokenizer

    from ai_roadmap.artifacts import verified_card
    from ai_roadmap.settings import get_settings
    from ai_roadmap.tracking import champion_model_dir

    folder, version = champion_model_dir(get_settings(), "s4.mlm", tmp_path)
    assert version == "1"
    card = verified_card(folder)
    assert card.name == "s4.mlm" and card.metrics["mlm_loss"] == smoke.metrics["mlm_loss"]
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForMaskedLM.from_pretrained(folder).eval()
    batch = tokenizer(["人民日报[MASK]年"], return_tensors="pt")
    assert batch["input_ids"][0, 5].item() == tokenizer.mask_token_id
    with torch.no_grad():
        logits = model(**batch).logits
    assert logits.shape == (1, 8, len(tokenizer))
    encoder = AutoModel.from_pretrained(folder)
    assert encoder.config.hidden_size == 32


def test_cuda_without_a_gpu_and_bad_sizes_are_one_line_errors(home: Path) -> None:
    from ai_roadmap.config import compose
    from ai_roadmap.errors import RoadmapError
    from ai_roadmap.milestones.s4.mlm import run

    cfg = compose("s4.mlm", "smoke", ["device=cuda"])
    cfg.output_dir = str(home / "bad")
    with pytest.raises(RoadmapError, match="no CUDA GPU"):
        run(cfg)
    cfg = compose("s4.mlm", "smoke", ["model.hidden_size=30", "model.num_heads=4"])
    cfg.output_dir = str(home / "bad")
    with pytest.raises(RoadmapError, match=r"multiple of model\.num_heads"):
        run(cfg)
