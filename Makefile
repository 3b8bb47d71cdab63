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
	# (10-28 min on 2 cores depending on the CPU, once; pip caches the
	# wheel it built: see the README for measured times).
	$(PIP) install --no-build-isolation "mmcv==$(MMCV_VERSION)"
	$(PIP) install -q -r requirements/runtime.txt -r requirements/tests.txt
	$(PIP) install -q --no-build-isolation --no-deps -e .
	$(PY) -c "import mixdet, mmcv.ops, mmdet; print('mixdet', mixdet.__version__, 'mmdet', mmdet.__version__)"
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m ruff check mixdet tools tests configs
	$(PY) -m pytest tests

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
		--out $(DEMO_DIR)/predictions.png
	$(PY) tools/analysis/plot_curves.py $(DEMO_DIR) --out $(DEMO_DIR)/curves.png
	@echo "demo done: $(DEMO_DIR)/metrics.json, $(DEMO_DIR)/predictions.png, $(DEMO_DIR)/curves.png"

lint: $(STAMP)
	$(PY) -m ruff check mixdet tools tests configs
	$(PY) -m ruff format --check mixdet tools tests configs

clean-venv:
	rm -rf $(VENV)
