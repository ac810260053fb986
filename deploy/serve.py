"""`make serve REPLICAS=N PORT=P`: N replicas of the app (`python -m ui.server`: `streamlit run
app.py` with its imports done first) behind HAProxy on port P.

    python -m deploy.serve --replicas 2 --port 8501        # what `make serve` runs
    python -m deploy.serve --replicas 0 --remote 10.0.0.2:8601 --remote 10.0.0.3:8601
    python -m deploy.serve --replicas 2 --no-proxy --replica-address 0.0.0.0 --first-port 8601

What it does: starts the replicas on loopback ports (free ones, or --first-port, --first-port+1,
...), waits until each answers /_stcore/health, writes the concrete HAProxy configuration from
deploy/haproxy.cfg into its run folder (checked with `haproxy -c` first), starts HAProxy in the
foreground, waits until the app answers through it, and prints where it is. Then it watches:
a replica that exits is started again (HAProxy's health checks take it out of and back into
rotation); if HAProxy exits, everything stops. Ctrl-C or SIGTERM stops HAProxy, then the
replicas (SIGTERM, then SIGKILL after 10 s); every child also gets SIGTERM if this process dies
(PR_SET_PDEATHSIG), so nothing outlives it. The run folder (haproxy.cfg, one log per process,
replicas.json with each replica's name, port and pid, haproxy.sock: HAProxy's admin socket, e.g.
`echo "show stat" | socat - UNIX:haproxy.sock`) is a temporary folder removed at exit, unless
--run-dir names one to keep.

The proxy (deploy/haproxy.cfg):
- sticky sessions: a cookie names the replica, so a browser's websocket, its images (/media,
  kept in the replica's memory) and its uploads reach the replica that holds its session;
- health checks on /_stcore/health: a dead replica (connection refused) is out of rotation in
  about 1.5 s, a busy one stays in unless it leaves a check unanswered for 10 s (while a
  replica is out, its sessions' images would be asked of another replica, which lacks them);
- retries: a refused or dropped request is retried on its replica, the last time on another;
- websocket-friendly timeouts (`timeout tunnel 1h`: an idle session keeps its connection);
- the upload limit (.streamlit/config.toml server.maxUploadSize) enforced at the proxy too:
  a larger Content-Length gets 413 from HAProxy without reaching a replica;
- /page/anything is redirected to /page (Streamlit renders such a nested path blank);
- X-Replica on every response says which replica answered.

How training jobs are placed: a job runs in the replica the visitor who starts it is on (the
sticky cookie decides), one job at a time per replica (vae/jobs.py and ui/jobs.py keep one
JobManager per server process), so N replicas run at most N jobs at once. That is deliberate: a
job is a child process of the replica that serves its owner, relayed by a thread there, so its
live progress and its Cancel button need no shared state between replicas; and one job per replica bounds training to N
cores' worth of work, leaving the rest to the sessions. A visitor on another replica does not
see that job running, only its result: every replica reads the same checkpoints folder
(LATENT_EXPLORER_CHECKPOINT_DIR, default checkpoints/; trained models go to its user/, written
atomically), and the model picker lists the folder again on every run, so a model trained on
one replica appears in every replica's picker at the visitor's next click. Across machines
that folder must be shared storage (e.g. NFS) for the same to hold.

When a replica dies, its visitors' next request (the browser's websocket reconnects at once)
finds it refused or out of rotation and HAProxy sends it to a live replica (`option
redispatch`), which sets the cookie anew. The session's memory is lost with the process, but
what a visitor chose (page, ?model=, ?z1=&z2=, chosen test images ?i=, ?a=&b=, ?label=) lives
in the URL, so a reload brings their view back.

Every replica gets the same `server.cookieSecret` (STREAMLIT_SERVER_COOKIE_SECRET, one random
value per launch unless it is set already; across machines set it to one value everywhere) and
inherits this process's environment (LATENT_EXPLORER_CHECKPOINT_DIR, LATENT_EXPLORER_CACHE_DIR).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ui.server import command  # the one command line that starts the app

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "haproxy.cfg"
STREAMLIT_CONFIG = ROOT / ".streamlit" / "config.toml"
HAPROXY = os.environ.get("HAPROXY", shutil.which("haproxy") or "/usr/sbin/haproxy")
COOKIE = "LE_REPLICA"
DEFAULT_UPLOAD_MB = 200  # Streamlit's own default for server.maxUploadSize
RESTART_DELAY_S = 2.0  # before a replica that exited is started again (doubled while it keeps dying)


@dataclass
class Server:
    """One replica as HAProxy sees it: a name (the cookie's value) and where it listens."""
    name: str
    host: str
    port: int

    def line(self) -> str:
        return f"    server {self.name} {self.host}:{self.port} cookie {self.name}"


def max_upload_mb(config: Path = STREAMLIT_CONFIG) -> int:
    """The app's upload limit in MB (server.maxUploadSize; Streamlit's default if unset)."""
    try:
        data = tomllib.loads(config.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return DEFAULT_UPLOAD_MB
    return int(data.get("server", {}).get("maxUploadSize", DEFAULT_UPLOAD_MB))


def render_config(servers: list[Server], port: int, run_dir: Path, bind: str = "*",
                  upload_mb: int | None = None, template: Path = TEMPLATE) -> str:
    """The concrete haproxy.cfg: the template with its $names filled in (a missing one raises)."""
    if not servers:
        raise ValueError("no servers: give --replicas or --remote")
    names = [s.name for s in servers]
    if len(set(names)) != len(names):
        raise ValueError(f"server names must differ: {names}")
    mb = max_upload_mb() if upload_mb is None else upload_mb
    return string.Template(template.read_text()).substitute(
        bind=bind, port=port, run_dir=run_dir, cookie=COOKIE,
        max_upload_mb=mb, max_upload_bytes=mb * 1024 * 1024,  # Streamlit's own check: MiB
        servers="\n".join(s.line() for s in servers))


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the launcher dies, however it dies (Linux)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _spawn(command: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """A child in its own session (a Ctrl-C reaches only the launcher, which stops it in order)."""
    with open(log, "ab") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                preexec_fn=_die_with_parent)


def healthy(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=timeout) as response:
            return response.read() == b"ok"
    except OSError:
        return False


def stop(proc: subprocess.Popen, grace_s: float = 10.0) -> None:
    """Ask a child to stop (SIGTERM), and kill it if it has not within grace_s."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Replica:
    """A `streamlit run app.py` child, restartable."""

    def __init__(self, name: str, port: int, address: str, env: dict[str, str], run_dir: Path) -> None:
        self.name, self.port, self.address, self.env = name, port, address, env
        self.log = run_dir / f"replica-{name}.log"
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.restart_at: float | None = None
        self.delay = RESTART_DELAY_S

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.address in ("0.0.0.0", "") else self.address
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        self.proc = _spawn(command(self.port, self.address), self.log, self.env)
        self.starts += 1
        self.restart_at = None

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"replica {self.name} exited with code {self.proc.returncode}; "
                                   f"see {self.log}")
            if healthy(self.url):
                return
            time.sleep(0.2)
        raise RuntimeError(f"replica {self.name} not healthy after {timeout:.0f} s; see {self.log}")


class Launcher:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.keep_run_dir = args.run_dir is not None
        self.run_dir = Path(args.run_dir or tempfile.mkdtemp(prefix="latent-explorer-serve-")).resolve()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.setdefault("STREAMLIT_SERVER_COOKIE_SECRET", secrets.token_hex(32))
        ports = ([args.first_port + i for i in range(args.replicas)] if args.first_port
                 else [free_port() for _ in range(args.replicas)])
        self.replicas = [Replica(f"r{i + 1}", port, args.replica_address, env, self.run_dir)
                         for i, port in enumerate(ports)]
        self.haproxy: subprocess.Popen | None = None
        self.stopping = False

    def servers(self) -> list[Server]:
        local = [Server(r.name, "127.0.0.1" if r.address in ("0.0.0.0", "") else r.address, r.port)
                 for r in self.replicas]
        remote = []
        for i, where in enumerate(self.args.remote or []):
            host, _, port = where.rpartition(":")
            remote.append(Server(f"m{i + 1}", host, int(port)))
        return local + remote

    def write_state(self) -> None:
        state = {"port": None if self.args.no_proxy else self.args.port, "run_dir": str(self.run_dir),
                 "haproxy_pid": self.haproxy.pid if self.haproxy else None,
                 "replicas": [{"name": r.name, "port": r.port, "pid": r.proc.pid if r.proc else None,
                               "starts": r.starts} for r in self.replicas]}
        tmp = self.run_dir / "replicas.json.tmp"
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        tmp.replace(self.run_dir / "replicas.json")

    def say(self, message: str) -> None:
        print(f"[serve {time.strftime('%H:%M:%S')}] {message}", flush=True)

    def start(self) -> None:
        for replica in self.replicas:
            replica.start()
        self.write_state()
        for replica in self.replicas:
            replica.wait_healthy(self.args.start_timeout)
            self.say(f"replica {replica.name} healthy on {replica.url} (pid {replica.proc.pid})")
        if self.args.no_proxy:
            return
        cfg = self.run_dir / "haproxy.cfg"
        cfg.write_text(render_config(self.servers(), self.args.port, self.run_dir, bind=self.args.bind))
        check = subprocess.run([HAPROXY, "-c", "-q", "-f", str(cfg)], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"haproxy rejected {cfg}:\n{check.stdout}{check.stderr}")
        self.haproxy = _spawn([HAPROXY, "-db", "-f", str(cfg)], self.run_dir / "haproxy.log")
        self.write_state()
        host = "127.0.0.1" if self.args.bind in ("*", "0.0.0.0", "") else self.args.bind
        url = f"http://{host}:{self.args.port}"
        deadline = time.monotonic() + 30
        while not healthy(url):
            if self.haproxy.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"haproxy did not serve {url}; see {self.run_dir / 'haproxy.log'}")
            time.sleep(0.2)
        self.say(f"serving {url} through HAProxy: {len(self.servers())} replicas "
                 f"({', '.join(f'{s.name}={s.host}:{s.port}' for s in self.servers())}); "
                 f"logs in {self.run_dir}; Ctrl-C stops")

    def watch(self) -> int:
        """Until a signal or HAProxy's exit: restart replicas that exit. Returns the exit code."""
        while not self.stopping:
            if self.haproxy is not None and self.haproxy.poll() is not None:
                self.say(f"haproxy exited with code {self.haproxy.returncode}; stopping")
                return 1
            now = time.monotonic()
            for r in self.replicas:
                if r.proc is None or r.proc.poll() is None:
                    continue
                if r.restart_at is None:
                    self.say(f"replica {r.name} exited with code {r.proc.returncode}; "
                             f"restarting in {r.delay:.0f} s")
                    r.restart_at = now + r.delay
                    r.delay = min(r.delay * 2, 60.0)
                elif now >= r.restart_at:
                    r.start()
                    self.write_state()
                    self.say(f"replica {r.name} restarted (pid {r.proc.pid})")
            time.sleep(0.2)
        return 0

    def shutdown(self) -> None:
        self.stopping = True
        if self.haproxy is not None:
            stop(self.haproxy)
        for r in self.replicas:
            if r.proc is not None:
                r.proc.terminate()
        for r in self.replicas:
            if r.proc is not None:
                stop(r.proc)
        if not self.keep_run_dir:
            shutil.rmtree(self.run_dir, ignore_errors=True)


@contextlib.contextmanager
def launched(replicas: int, port: int, run_dir: Path, env: dict[str, str] | None = None,
             timeout: float = 120.0, extra: list[str] | None = None) -> Iterator[dict]:
    """`python -m deploy.serve` as a child (how tests and benchmarks start the deployment):
    yields the launcher's replicas.json (port, replicas' names, ports and pids, haproxy_pid)
    once the app answers through the proxy; stops it all (SIGTERM to the launcher) afterwards."""
    run_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "deploy.serve", "--replicas", str(replicas), "--port", str(port),
               "--run-dir", str(run_dir), "--bind", "127.0.0.1", *(extra or [])]
    with open(run_dir / "serve.log", "ab") as log:
        proc = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=log,
                                stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
    try:
        deadline = time.monotonic() + timeout
        while not healthy(f"http://127.0.0.1:{port}"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"deploy.serve did not start:\n{(run_dir / 'serve.log').read_text()[-3000:]}")
            time.sleep(0.3)
        yield json.loads((run_dir / "replicas.json").read_text())
    finally:
        stop(proc, grace_s=30.0)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m deploy.serve", description=__doc__.splitlines()[0])
    p.add_argument("--replicas", type=int, default=2, help="local replicas to start (default 2)")
    p.add_argument("--port", type=int, default=8501, help="the proxy's port (default 8501)")
    p.add_argument("--bind", default="*", help="the proxy's address (default: all)")
    p.add_argument("--first-port", type=int, default=0,
                   help="replicas on this port and the next ones (default: free loopback ports)")
    p.add_argument("--replica-address", default="127.0.0.1",
                   help="where replicas listen (0.0.0.0 to serve another machine's proxy)")
    p.add_argument("--remote", action="append", metavar="HOST:PORT",
                   help="a replica on another machine to add to the proxy's servers (repeatable)")
    p.add_argument("--no-proxy", action="store_true", help="start the replicas only")
    p.add_argument("--run-dir", help="keep configuration and logs here (default: a temporary folder)")
    p.add_argument("--start-timeout", type=float, default=120.0, help="seconds for a replica to start")
    args = p.parse_args(argv)
    if args.replicas < 0 or (args.replicas == 0 and not args.remote):
        p.error("give at least one replica (--replicas) or --remote server")
    if args.no_proxy and args.remote:
        p.error("--remote needs the proxy")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if not args.no_proxy and not Path(HAPROXY).exists():
        print("haproxy not found: `make setup` installs it (Debian: apt-get install haproxy)", file=sys.stderr)
        return 2
    launcher = Launcher(args)

    def on_signal(signum: int, _frame: object) -> None:
        launcher.stopping = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    code = 0
    try:
        launcher.start()
        code = launcher.watch()
    except KeyboardInterrupt:
        launcher.say("stopping")
    except RuntimeError as exc:
        print(f"[serve] {exc}", file=sys.stderr)
        launcher.keep_run_dir = True  # its logs say why
        code = 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        launcher.shutdown()
    return code


if __name__ == "__main__":
    raise SystemExit(main())
