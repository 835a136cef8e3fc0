# Two commands do everything on a fresh clone with Python 3.11: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install demo test test-heavy browser-deps check celery-workers dev lint bench bench-ingest bench-nightly bench-labels bench-pit bench-snapshot bench-sensor bench-threads bench-active clean dist

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
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

bench: $(STAMP)
	$(BIN)/python bench/ingest_day.py
	$(BIN)/python bench/nightly_day.py
	$(BIN)/python bench/label_model.py
	$(BIN)/python bench/pit_join.py
	$(BIN)/python bench/snapshot_folder.py
	$(BIN)/python bench/sensor_tick.py
	$(BIN)/python bench/torch_threads.py
	$(BIN)/python bench/active_learning.py

bench-ingest: $(STAMP)
	$(BIN)/python bench/ingest_day.py

clean:
	rm -rf .fsdl .tmp_dagster_home_* dist

dist: $(STAMP)  # dist/fsdl_data-<version>-py3-none-any.whl and the sdist: `pip install` either
	rm -rf dist
	$(BIN)/python -m build --no-isolation --outdir dist .

bench-nightly: $(STAMP)
	$(BIN)/python bench/nightly_day.py

bench-labels: $(STAMP)
	$(BIN)/python bench/label_model.py

bench-pit: $(STAMP)
	$(BIN)/python bench/pit_join.py

bench-snapshot: $(STAMP)
	$(BIN)/python bench/snapshot_folder.py

bench-sensor: $(STAMP)
	$(BIN)/python bench/sensor_tick.py

bench-threads: $(STAMP)
	$(BIN)/python bench/torch_threads.py

bench-active: $(STAMP)
	$(BIN)/python bench/active_learning.py
