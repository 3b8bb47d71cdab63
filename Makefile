# mixdet: two commands on a fresh machine, `make demo` and `make test`.
# `make setup` is idempotent: it creates .venv once and records what it
# installed in a stamp file, so later targets start in seconds.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# torch: requirements/torch.txt's by default; any release from 2.6 to 2.15 through
# `make setup TORCH_VERSION=...` (checked before anything is installed).
TORCH_VERSION ?= $(shell sed -n 's/^torch==//p' requirements/torch.txt)
MMCV_VERSION ?= 2.1.0
export MMCV_VERSION
STAMP := $(VENV)/.mixdet-setup-torch$(TORCH_VERSION)
# mmcv compiles with all cores unless told otherwise.
export MAX_JOBS ?= $(shell nproc)

.PHONY: setup test test-fast demo lint clean-venv

setup: $(STAMP)

$(STAMP): setup.cfg setup.py requirements/*.txt tools/setup/*.py
	$(PYTHON) tools/setup/install_mmcv.py --check-torch $(TORCH_VERSION)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# Every pip install in the venv keeps this torch (pip reads the venv's
	# pip.conf): `.venv/bin/pip install timm` cannot swap it for another.
	echo "torch==$(TORCH_VERSION)" > $(VENV)/constraints.txt
	printf '[global]\nconstraint = %s\n' "$(abspath $(VENV))/constraints.txt" > $(VENV)/pip.conf
	$(PIP) install -q --upgrade "pip<26" "setuptools<81" wheel
	$(PIP) install -q "torch==$(TORCH_VERSION)"
	# mmcv has no wheel: built once per torch from its sdist (C++20 for
	# torch >= 2.14), cached in ~/.cache/mixdet/wheels (README: times).
	$(PY) tools/setup/install_mmcv.py
	$(PIP) install -q -r requirements/runtime.txt -r requirements/tests.txt
	$(PIP) install -q --no-build-isolation --no-deps -e .
	# mim finds packages in site-packages/<name>: link the checkout there
	$(PY) tools/setup/link_for_mim.py
	$(PY) -c "import mixdet, mmcv.ops, mmdet, torch; print('mixdet', mixdet.__version__, 'mmdet', mmdet.__version__, 'torch', torch.__version__)"
	rm -f $(VENV)/.mixdet-setup-*
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m ruff check mixdet tools tests configs
	$(PY) -m pytest tests

# The edit loop: everything but the tests marked slow (training, compile,
# tools in subprocesses), docs/install.md says how long. CI runs `make test`.
test-fast: $(STAMP)
	$(PY) -m ruff check mixdet tools tests configs
	$(PY) -m pytest tests -m "not slow"

DEMO_CONFIG := configs/demo/ssdlite_mixnet-s_1xb16-10e_shapes.py
DEMO_DIR := work_dirs/demo

# Train SSDLite-MixNet-S from scratch on the generated shapes dataset (CPU),
# evaluate with mmdet's CocoMetric, draw predictions and curves.
demo: $(STAMP)
	test -f data/shapes/instances_val.json || \
		$(PY) tools/misc/make_shapes_dataset.py data/shapes --size 192
	$(PY) tools/train.py $(DEMO_CONFIG) --work-dir $(DEMO_DIR)
	$(PY) tools/test.py $(DEMO_CONFIG) $$(cat $(DEMO_DIR)/last_checkpoint) \
		--work-dir $(DEMO_DIR)
	$(PY) tools/misc/show_predictions.py $(DEMO_CONFIG) \
		$$(cat $(DEMO_DIR)/last_checkpoint) --images data/shapes/val \
		--out $(DEMO_DIR)/predictions.png --force
	$(PY) tools/analysis/plot_curves.py $(DEMO_DIR) --out $(DEMO_DIR)/curves.png --force
	@echo "demo done: $(DEMO_DIR)/metrics.json, $(DEMO_DIR)/predictions.png, $(DEMO_DIR)/curves.png"

lint: $(STAMP)
	$(PY) -m ruff check mixdet tools tests configs
	$(PY) -m ruff format --check mixdet tools tests configs

clean-venv:
	rm -rf $(VENV)
