#!/bin/sh
# The system packages that `make run`, `make test` and `make serve` need, by their Debian names:
#   chromium  the browser the end-to-end tests and benchmarks drive (Debian's, never a download)
#   haproxy   the proxy in front of the replicas (`make serve`, tests/e2e/test_proxy.py)
#   nodejs    the latent plane's JS unit tests (`node --test tests/js/`)
#   python3-venv  only while .venv does not exist yet, if this Python cannot make one
# Installs what is missing when it can (apt-get as root, or with sudo that needs no password);
# otherwise prints the one command to run and fails. With everything there it only looks
# (command -v), in milliseconds. Called by the Makefile's `setup`.
set -eu

missing=""
have() { command -v "$1" >/dev/null 2>&1; }
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || have chromium || missing="$missing chromium"
have haproxy || [ -x /usr/sbin/haproxy ] || missing="$missing haproxy"
have node || missing="$missing nodejs"
if [ ! -x "${VENV:-.venv}/bin/python" ] && ! "${PYTHON:-python3}" -c "import ensurepip, venv" >/dev/null 2>&1; then
  missing="$missing python3-venv"
fi
[ -z "$missing" ] && exit 0

if ! have apt-get; then
  echo "Missing system packages (Debian names):$missing. Install them with your system's package manager." >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif have sudo && sudo -n true 2>/dev/null; then
  SUDO="sudo -n"
else
  echo "Missing system packages:$missing. Run this once, then make again:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y$missing" >&2
  exit 1
fi
echo "Installing Debian's$missing ..."
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086 - one word per package
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
echo "Installed:$missing"
