# Two commands do everything on a fresh clone with Python 3.11: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# `make bench-NAME` runs bench/SCRIPT.py, NAME=SCRIPT below; `make bench` runs them all in turn
BENCH_SCRIPTS := ingest=ingest_day nightly=nightly_day labels=label_model pit=pit_join \
	snapshot=snapshot_folder sensor=sensor_tick threads=torch_threads active=active_learning
BENCHES := $(foreach b,$(BENCH_SCRIPTS),bench-$(firstword $(subst =, ,$(b))))

.PHONY: install demo test test-heavy browser-deps check celery-workers dev lint bench $(BENCHES) clean dist

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing fsdl_data and everything its tests need into $(VENV) (about 2.6 GB, 1-2 minutes; pip prints each package) ..."
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install --progress-bar on -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	DAGSTER_HOME=$(CURDIR) $(BIN)/fsdl-data demo --days 3

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -m "not daemon and not labelstudio and not browser and not walkthrough and not quickstart"

celery-workers: $(STAMP)  # two Celery workers on the local RabbitMQ: `dagster` and `gpu` (one at a time)
	DAGSTER_CELERY_BROKER_HOST=127.0.0.1 $(BIN)/celery -A dagster_celery.app worker -Q dagster -n dagster@%h --detach --logfile=.fsdl/celery-dagster.log
	FSDL_PARALLEL_STEPS=1 DAGSTER_CELERY_BROKER_HOST=127.0.0.1 $(BIN)/celery -A dagster_celery.app worker -Q gpu -c 1 -n gpu@%h --detach --logfile=.fsdl/celery-gpu.log

check: $(STAMP)  # every asset check on a small generated world with defects (CI runs it)
	$(BIN)/fsdl-data check

test-heavy: $(STAMP) browser-deps  # suites too slow for every `make test`; .ci/run runs them too
	$(BIN)/python -m pytest -q -m "daemon or labelstudio or browser or walkthrough or quickstart"

browser-deps:  # Debian's Chromium for the browser test (Playwright drives it; no browser download)
	command -v chromium >/dev/null || { $(SUDO) apt-get install -y chromium || { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; }; }

dev: $(STAMP)
	mkdir -p .fsdl/dagster
	DAGSTER_HOME=$(CURDIR) $(BIN)/dagster dev -h 127.0.0.1 -p 3000

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: $(BENCHES)

$(BENCHES): bench-%: $(STAMP)
	$(BIN)/python bench/$(lastword $(subst =, ,$(filter $*=%,$(BENCH_SCRIPTS)))).py

clean:
	rm -rf .fsdl .tmp_dagster_home_* dist

dist: $(STAMP)  # dist/fsdl_data-<version>-py3-none-any.whl and the sdist: `pip install` either
	rm -rf dist
	$(BIN)/python -m build --no-isolation --outdir dist .
