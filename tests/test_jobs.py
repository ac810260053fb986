import time

import pytest

from vae import load_checkpoint
from vae.jobs import JobError, JobManager, JobRequest, user_checkpoint_path


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
    with pytest.raises(JobError, match="already exists"):
        manager.start(JobRequest(name="tiny", epochs=1, hidden=32, train_limit=500))

    manager.start(JobRequest(name="stopped", epochs=50, hidden=32, train_limit=2000))
    time.sleep(0.5)
    manager.cancel()
    status = manager.wait(60)
    assert status.state == "cancelled"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.safetensors"]
