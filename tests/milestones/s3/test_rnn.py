"""s3.rnn at smoke scale: the metrics, the heat-maps, and the primary model saved as a
model folder that reloads and decodes the held-out dates exactly as the trained model did."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ai_roadmap.config import compose
from ai_roadmap.milestones.s3 import rnn as rnn_run

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny tensors: threads only sync


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory):
    cfg = compose("s3.rnn", "smoke")
    cfg.output_dir = str(tmp_path_factory.mktemp("s3.rnn"))
    threads = torch.get_num_threads()
    result = rnn_run.run(cfg)
    return cfg, result, threads


def test_smoke_run_reports_metrics_and_writes_the_heatmaps(smoke_run) -> None:
    _, result, threads = smoke_run
    assert torch.get_num_threads() == threads  # restored
    m = result.metrics
    assert m["checks_failed"] == 0 and m["checks_passed"] == 5
    assert 0.0 <= m["seq2seq_exact_match"] <= 1.0
    assert m["seq2seq_exact_match"] == m["exact_match_additive"]
    assert {"exact_match_dot", "grad_log10_ratio_rnn", "grad_log10_ratio_lstm"} <= m.keys()
    for name in ("attention_additive.png", "attention_dot.png", "gradient_flow.png"):
        path = result.artifacts[name]
        assert path.exists() and path.read_bytes()[:4] == b"\x89PNG"
    assert result.model_path is not None and result.model_path.exists()
    assert not result.proxy


def test_the_saved_folder_reloads_and_decodes_as_the_trained_model(smoke_run) -> None:
    from ai_roadmap.artifacts import read_card
    from ai_roadmap.config import typed
    from ai_roadmap.deep import seq2seq as s2s
    from ai_roadmap.deep.date_translation import date_task, train_one

    cfg, result, _ = smoke_run
    folder = Path(result.model_path)
    assert folder.is_dir() and (folder / s2s.VOCAB_FILE).exists()
    card = read_card(folder)
    assert (card.name, card.task, card.target) == ("s3.rnn", "translation", "ISO date")
    assert card.input_schema == {"text": {"type": "string"}}
    assert card.metrics["seq2seq_exact_match"] == result.metrics["seq2seq_exact_match"]

    model, src_vocab, tgt_vocab = s2s.load_seq2seq(folder)
    assert not model.training and model.cfg.attention == cfg.train.primary
    c = typed(cfg, rnn_run.Config)
    task = date_task(c.seed, c.data)
    assert src_vocab.itos == task.src_vocab.itos and tgt_vocab.itos == task.tgt_vocab.itos
    predictions = s2s.predict(model, task.test_data, tgt_vocab)
    exact = s2s.exact_match(predictions, task.test.targets)
    assert exact == result.metrics["seq2seq_exact_match"]
    # the same seed trains the same model again: the folder holds exactly that model
    trained = train_one(task, c.model, c.train.primary, c.train, c.seed)
    assert predictions == trained.predictions
    src, tgt_in, _ = task.test_data.batch(torch.arange(16))
    with torch.no_grad():
        trained.model.eval()
        assert torch.equal(model(src, tgt_in), trained.model(src, tgt_in))
