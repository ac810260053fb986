import os
import shlex
import signal
import time

import numpy as np
import pytest

from vae import load_checkpoint
from vae.jobs import JOB_BATCH_SIZE, JOB_LR, JobError, JobManager, JobRequest, user_checkpoint_path
from vae.train import build_parser, config_from_args, options_from_args


def test_names_are_sanitised(tmp_path) -> None:
    assert user_checkpoint_path("beta4_run-1", tmp_path) == (tmp_path / "beta4_run-1.safetensors").resolve()
    for bad in ["", "../escape", "a/b", "..", ".hidden", "x" * 41, "name.safetensors", "-x", "a b", "é", "abc\n"]:
        with pytest.raises(JobError):
            user_checkpoint_path(bad, tmp_path)


def test_request_limits() -> None:
    with pytest.raises(JobError, match="epochs"):
        JobRequest(name="x", epochs=0).validate()
    with pytest.raises(JobError, match="beta"):
        JobRequest(name="x", beta=-1).validate()


@pytest.mark.parametrize("request_", [
    JobRequest(name="plain"),
    JobRequest(name="cvae-small", epochs=3, hidden=64, beta=0.25, conditional=True, seed=7, train_limit=1000),
])
def test_the_recorded_command_reproduces_the_job(request_: JobRequest) -> None:
    command = request_.command()
    words = shlex.split(command, comments=True)  # the note after "#" is a shell comment
    assert words[:3] == ["python", "-m", "vae.train"]
    args = build_parser().parse_args(words[3:])
    assert args.out == f"checkpoints/user/{request_.name}" and args.threads == 1
    assert config_from_args(args) == request_.config()
    assert options_from_args(args) == request_.options()
    # What the job trains with, stated independently of JobRequest.options (issue 12: the
    # command used to leave out the batch size and learning rate).
    assert (args.batch_size, args.lr) == (JOB_BATCH_SIZE, JOB_LR) == (256, 2e-3)
    assert (args.epochs, args.seed, args.limit) == (request_.epochs, request_.seed, request_.train_limit)


@pytest.mark.slow
def test_a_tiny_job_runs_to_completion_and_a_cancelled_one_leaves_nothing(tmp_path) -> None:
    manager = JobManager(root=tmp_path)
    manager.start(JobRequest(name="tiny", epochs=2, hidden=32, train_limit=1000, conditional=True))
    with pytest.raises(JobError, match="another training job"):
        manager.start(JobRequest(name="other", epochs=1, hidden=32, train_limit=500))
    status = manager.wait(120)
    assert status.state == "done", status.message
    assert len(status.history) == 2 and status.manifold.shape == (12 * 28, 12 * 28)
    ckpt = load_checkpoint(tmp_path / "tiny")
    assert ckpt.config.num_classes == 10 and ckpt.config.encoder_hidden == (32, 32)
    assert ckpt.train_command == status.request.command()
    with pytest.raises(JobError, match="already exists"):
        manager.start(JobRequest(name="tiny", epochs=1, hidden=32, train_limit=500))

    manager.start(JobRequest(name="stopped", epochs=50, hidden=32, train_limit=2000))
    time.sleep(0.5)
    manager.cancel()
    status = manager.wait(60)
    assert status.state == "cancelled"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.safetensors"]


def test_only_the_owner_can_cancel(tmp_path) -> None:
    manager = JobManager(root=tmp_path)
    manager.start(JobRequest(name="mine", epochs=50, hidden=32, train_limit=2000), owner="token-a")
    try:
        assert manager.owns("token-a") and not manager.owns("token-b") and not manager.owns("")
        with pytest.raises(JobError, match="only the visitor who started"):
            manager.cancel("token-b")
        with pytest.raises(JobError, match="only the visitor who started"):
            manager.cancel()
        time.sleep(0.3)
        assert manager.busy() and manager.status.state == "running"  # still running
        assert "token-a" not in repr(manager.status)  # the token is never shown
    finally:
        manager.cancel("token-a")
    status = manager.wait(60)
    assert status.state == "cancelled" and list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_tiny_job_records_its_metrics_and_typicality_scores(tmp_path) -> None:
    from vae import arraycache
    from vae.checkpoint import CHECKPOINT_DIR
    from vae.evaluate import evaluate_model
    from vae.jobs import EVAL_IMAGES, EVAL_IWAE_K
    from vae.data import fixed_binarization
    from vae.typicality import PAGE_SETS, scores_key, scores_saved, split_scores, typicality_scores

    # In the tests' checkpoint folder (tests/conftest.py), where the app's user/ would be.
    root = CHECKPOINT_DIR / "user" / tmp_path.name
    manager = JobManager(root=root)
    generation = manager.generation
    manager.start(JobRequest(name="tiny-metrics", epochs=1, hidden=32, train_limit=500), owner="t")
    phases = set()
    while manager.busy():
        phases.add(manager.status.phase)
        time.sleep(0.05)
    status = manager.wait(300)
    assert status.state == "done", status.message
    assert manager.generation == generation + 2  # started, ended: watching pages redraw
    assert {"training", "scores"} <= phases and status.progress == 1.0
    ckpt = load_checkpoint(root / "tiny-metrics")
    m = ckpt.metrics
    assert m["test_n_images"] == EVAL_IMAGES and m["test_iwae_k"] == EVAL_IWAE_K
    # The same protocol as `vae.evaluate` on the saved model gives the same numbers.
    again = evaluate_model(ckpt.model, "test", EVAL_IWAE_K, EVAL_IMAGES)
    for key in ("elbo", "nll_iwae", "knn5_accuracy"):
        assert m[f"test_{key}"] == pytest.approx(again[key], rel=1e-6), key
    # The Typicality page's default scores are on disk under the loaded weights' key.
    for split, n in PAGE_SETS:
        assert scores_saved(ckpt, split, n, True, "log p(x)")
        assert arraycache.key_path(scores_key(ckpt, split, n, True, "log p(x)")).exists()
    saved = split_scores(ckpt, "val", PAGE_SETS[0][1], True, "log p(x)")  # read back, not computed
    x = fixed_binarization("val", seed=0)[0][:4]
    np.testing.assert_allclose(saved[:4], typicality_scores(ckpt.model, x, "log p(x)"), rtol=1e-9)


def test_a_job_runs_in_its_own_process_and_its_death_is_reported(tmp_path) -> None:
    """The server's process holds none of a job's memory, and a job that dies (out of memory,
    killed) is reported as failed with nothing written, the server unharmed."""
    manager = JobManager(root=tmp_path)
    manager.start(JobRequest(name="doomed", epochs=50, hidden=32, train_limit=2000))
    deadline = time.time() + 60
    while time.time() < deadline and not (manager.status.progress > 0 and manager.pid):
        time.sleep(0.05)
    assert manager.pid not in (None, os.getpid()) and manager.busy()
    os.kill(manager.pid, signal.SIGKILL)
    status = manager.wait(60)
    assert status.state == "failed" and "exit code -9" in status.message, status.message
    assert list(tmp_path.iterdir()) == [] and not manager.busy()
    manager.start(JobRequest(name="after", epochs=1, hidden=32, train_limit=200))  # the manager still works
    assert manager.wait(120).state == "done"
