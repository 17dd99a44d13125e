# The two commands a new user needs are `make demo` and `make test`; both build .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint firmware bench clean browser-deps

# requirements.lock pins every transitive dependency; pyproject.toml pins the direct ones.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/heavylegs demo

test: $(STAMP) browser-deps lint firmware
	$(BIN)/python -m pytest -q

# The report test renders pages in Debian's chromium; install it where we may (CI runs as root).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

lint: $(STAMP)
	$(BIN)/ruff check host firmware tests bench
	$(BIN)/ruff format --check host firmware tests bench
	$(BIN)/mypy

# Cross-compile every firmware module for each MCU architecture we ship to.
firmware: $(STAMP)
	$(BIN)/python -m heavylegs.deploy.build --all-archs --out build/mpy

bench: $(STAMP)
	for script in bench/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) $(GAITMAP_VENV) build out .pytest_cache .ruff_cache .mypy_cache

# Optional: gaitmap's published event detection beside ours (bench/accuracy.py).
# Its own venv, as gaitmap 2.6.0 needs numpy<2.1; every package pinned; never in `make test`.
GAITMAP_VENV := .venv-gaitmap
GAITMAP_STAMP := $(GAITMAP_VENV)/.installed

.PHONY: bench-gaitmap

$(GAITMAP_STAMP): bench/gaitmap-requirements.txt
	test -x $(GAITMAP_VENV)/bin/python || $(PYTHON) -m venv $(GAITMAP_VENV)
	$(GAITMAP_VENV)/bin/python -m pip install --quiet --upgrade pip==25.3
	$(GAITMAP_VENV)/bin/python -m pip install --quiet --no-deps -r bench/gaitmap-requirements.txt
	$(GAITMAP_VENV)/bin/python -m pip check
	touch $(GAITMAP_STAMP)

bench-gaitmap: $(STAMP) $(GAITMAP_STAMP)
	$(BIN)/python bench/accuracy.py --gaitmap
