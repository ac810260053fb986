import pytest
import torch

from vae import VAEConfig, load_checkpoint
from vae.train import TrainOptions, main, train


@pytest.mark.slow
def test_one_epoch_on_a_slice_lowers_the_loss_and_saves(tmp_path) -> None:
    events = []
    config = VAEConfig(encoder_hidden=(128,), decoder_hidden=(128,))
    options = TrainOptions(epochs=2, batch_size=100, lr=2e-3, train_limit=3000, val_limit=1000)
    result = train(config, options, out=tmp_path / "tiny", callbacks=[events.append],
                   train_command="test")
    steps = [e for e in events if e.kind == "step"]
    epochs = [e for e in events if e.kind == "epoch"]
    assert len(steps) == 60 and len(epochs) == 2 and events[-1].kind == "done"
    first = sum(e.loss for e in steps[:5]) / 5
    last = sum(e.loss for e in steps[-5:]) / 5
    assert last < first - 50  # from ~540 nats (random) to well under 250
    ckpt = load_checkpoint(tmp_path / "tiny")
    assert ckpt.metrics["val_bound"] == pytest.approx(result.best_val_bound, abs=1e-6)
    # k = 1: the validation bound is the ELBO itself
    assert ckpt.metrics["val_elbo"] == pytest.approx(ckpt.metrics["val_bound"], abs=1e-4)
    assert ckpt.extra["epoch"] == result.best_epoch
    assert ckpt.train_command == "test"


@pytest.mark.slow
def test_training_is_deterministic_for_a_seed(tmp_path) -> None:
    config = VAEConfig(encoder_hidden=(32,), decoder_hidden=(32,))
    options = TrainOptions(epochs=1, batch_size=100, train_limit=500, val_limit=200, seed=3)
    a = train(config, options).model.state_dict()
    b = train(config, options).model.state_dict()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_should_stop_keeps_no_partial_checkpoint(tmp_path) -> None:
    config = VAEConfig(encoder_hidden=(32,), decoder_hidden=(32,))
    options = TrainOptions(epochs=3, batch_size=100, train_limit=500, val_limit=200)
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] >= 2  # stop inside the first epoch, before any validation

    result = train(config, options, out=tmp_path / "x", should_stop=stop)
    assert result.stopped_early and result.out is None
    assert list(tmp_path.iterdir()) == []


def test_cli_help_and_bad_arguments(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert "--beta" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--out", "x", "--encoder-hidden", "abc"])
