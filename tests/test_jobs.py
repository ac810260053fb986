import shlex
import time

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
