# Two commands for a newcomer: `make build` and `make test`. Both set up everything they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
NODE_DIR := tests/checkers/node
STAMP  := $(VENV)/.installed

.PHONY: build test check lint clean setup browser regen-golden bench bytecode catalog-lists

setup: $(STAMP) browser

# One stamp for the Python environment and the npm checkers; it is rebuilt when a manifest changes.
$(STAMP): pyproject.toml $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	# logscale-tools declares Python >= 3.14 but runs on 3.11 (its grammar is plain tree-sitter).
	$(BIN)/pip install --quiet --no-deps --ignore-requires-python logscale-tools==0.1.8
	cd $(NODE_DIR) && npm ci --no-audit --no-fund --silent
	touch $(STAMP)

# The report page's tests drive headless Chromium: Debian's package (Playwright's own browser download is
# not used). Installed once, as root, quietly (the apt log goes to .venv/chromium-install.log); without
# root it is left to the developer and the browser tests skip (under CI they fail).
browser:
	@command -v chromium >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || { \
	  mkdir -p $(VENV) && { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends chromium; } >$(VENV)/chromium-install.log 2>&1 \
	  || { echo "error: apt-get install chromium failed, see $(VENV)/chromium-install.log" >&2; exit 1; }; }

# siemc's own modules byte-compiled ahead (an editable install leaves them as source, and with
# PYTHONDONTWRITEBYTECODE every run would compile them again): a cold `siemc convert` starts faster.
bytecode: setup
	$(BIN)/python -m compileall -q siemc backends

build: setup bytecode
	$(BIN)/siemc build detections --out build

check: setup
	$(BIN)/siemc build detections --out build --check

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check siemc backends tests bench tools
	$(BIN)/ruff format --check siemc backends tests bench tools
	$(BIN)/mypy

# The remote access tool catalog's list files (detections/catalog/lists/), regenerated from its tool files.
catalog-lists: setup
	$(BIN)/python -m tools.rat_catalog lists

# Rewrite the expected texts of tests/golden/ from the current backends; review the diff before committing.
regen-golden: setup
	SIEMC_REGEN_GOLDEN=1 $(BIN)/python -m pytest tests/test_golden.py

# Build-speed benchmark: siemc against sigma-cli with the seven public backends (their own pinned
# environment, bench/.venv). BENCH_ARGS passes options, e.g. BENCH_ARGS="--runs 5 --baseline-runs 3".
BENCH_VENV  := bench/.venv
BENCH_STAMP := $(BENCH_VENV)/.installed

$(BENCH_STAMP): bench/requirements.txt
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/pip install --quiet -r bench/requirements.txt
	touch $(BENCH_STAMP)

bench: setup bytecode $(BENCH_STAMP)
	$(BIN)/python bench/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(NODE_DIR)/node_modules .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
