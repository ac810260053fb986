"""deploy/: the HAProxy configuration serve.py writes, and its launcher's arguments (no servers
started here; tests/e2e/test_proxy.py runs the real thing)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from deploy.serve import COOKIE, HAPROXY, Server, max_upload_mb, parse_args, render_config

SERVERS = [Server("r1", "127.0.0.1", 9001), Server("r2", "127.0.0.1", 9002), Server("m1", "10.0.0.7", 8601)]


def test_the_upload_limit_is_the_apps(tmp_path) -> None:
    assert max_upload_mb() == 8  # .streamlit/config.toml server.maxUploadSize
    (tmp_path / "config.toml").write_text("[server]\nmaxUploadSize = 3\n")
    assert max_upload_mb(tmp_path / "config.toml") == 3
    assert max_upload_mb(tmp_path / "missing.toml") == 200  # Streamlit's default


def test_config_names_every_server_with_its_cookie(tmp_path) -> None:
    cfg = render_config(SERVERS, 8080, tmp_path)
    assert "$" not in cfg  # every template field filled in
    assert "bind *:8080" in cfg
    for s in SERVERS:
        assert f"server {s.name} {s.host}:{s.port} cookie {s.name}" in cfg
    assert f"cookie {COOKIE} insert" in cfg
    assert "option redispatch" in cfg and "timeout tunnel" in cfg
    assert "http-check send meth GET uri /_stcore/health" in cfg
    assert f"gt {8 * 1024 * 1024} " in cfg  # the same bytes Streamlit compares Content-Length with
    assert f'stats socket "{tmp_path}/haproxy.sock"' in cfg


def test_config_refuses_no_servers_or_twice_the_same_name(tmp_path) -> None:
    with pytest.raises(ValueError):
        render_config([], 8080, tmp_path)
    with pytest.raises(ValueError):
        render_config([Server("r1", "127.0.0.1", 1), Server("r1", "127.0.0.1", 2)], 8080, tmp_path)


@pytest.mark.skipif(shutil.which(HAPROXY) is None, reason="haproxy not installed (make setup installs it)")
def test_haproxy_accepts_the_config(tmp_path) -> None:
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(render_config(SERVERS, 8080, tmp_path, bind="127.0.0.1", upload_mb=5))
    check = subprocess.run([HAPROXY, "-c", "-f", str(cfg)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "[WARNING]" not in check.stdout + check.stderr, check.stdout + check.stderr


def test_launcher_arguments() -> None:
    args = parse_args(["--replicas", "3", "--port", "9000"])
    assert (args.replicas, args.port, args.remote, args.no_proxy) == (3, 9000, None, False)
    assert parse_args(["--replicas", "0", "--remote", "10.0.0.2:8601"]).remote == ["10.0.0.2:8601"]
    for bad in (["--replicas", "0"], ["--replicas", "-1"], ["--no-proxy", "--remote", "h:1"]):
        with pytest.raises(SystemExit):
            parse_args(bad)
