# mixdet: two commands on a fresh machine, `make demo` and `make test`.
# `make setup` is idempotent: it creates .venv once and records what it
# installed in a stamp file, so later targets start in seconds.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.mixdet-setup-done
TORCH_VERSION ?= 2.13.0
MMCV_VERSION ?= 2.1.0
# mmcv compiles with all cores unless told otherwise.
export MAX_JOBS ?= $(shell nproc)

.PHONY: setup test demo lint clean-venv

setup: $(STAMP)

$(STAMP): setup.cfg setup.py requirements/runtime.txt requirements/tests.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade "pip<26" "setuptools<81" wheel
	$(PIP) install -q "torch==$(TORCH_VERSION)"
	# mmcv 2.1.0 has no wheel: it builds from source against the torch above
	# (about 27 min on 2 cores, once; pip caches the wheel it built).
	$(PIP) install --no-build-isolation "mmcv==$(MMCV_VERSION)"
	$(PIP) install -q -r requirements/runtime.txt -r requirements/tests.txt
	$(PIP) install -q --no-build-isolation --no-deps -e .
	$(PY) -c "import mixdet, mmcv.ops, mmdet; print('mixdet', mixdet.__version__, 'mmdet', mmdet.__version__)"
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m ruff check mixdet tools tests configs
	$(PY) -m pytest tests

demo: $(STAMP)
	$(PY) tools/demo.py

lint: $(STAMP)
	$(PY) -m ruff check mixdet tools tests configs
	$(PY) -m ruff format --check mixdet tools tests configs

clean-venv:
	rm -rf $(VENV)
