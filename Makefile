# AcademicHub. Only Python 3.11+ and make are assumed; `make` targets build .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-from-lock
export PYTHONPATH := $(CURDIR)
export HUB_DATA_DIR ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(HUB_DATA_DIR)/dagster

.PHONY: install run backfill test dev lock validate clean-data

$(STAMP): requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	touch $(STAMP)

install: $(STAMP)

# make run [DATE=YYYY-MM-DD] [SOURCES=file] [RADARS=file]
run: $(STAMP)
	$(BIN)/python -m hub_pipeline.cli run $(if $(DATE),--date $(DATE)) $(if $(SOURCES),--sources $(SOURCES)) $(if $(RADARS),--radars $(RADARS))

# make backfill FROM=YYYY-MM-DD TO=YYYY-MM-DD [SOURCES=file] [RADARS=file] [BRIEFINGS=1]
BACKFILL_USAGE := usage: make backfill FROM=YYYY-MM-DD TO=YYYY-MM-DD [SOURCES=file] [RADARS=file] [BRIEFINGS=1]
# Checked when make reads this file, so a missing day stops it before .venv is built.
ifneq ($(filter backfill,$(MAKECMDGOALS)),)
ifeq ($(strip $(FROM)),)
$(error FROM is missing: set it to the first announcement day to load. $(BACKFILL_USAGE))
endif
ifeq ($(strip $(TO)),)
$(error TO is missing: set it to the last announcement day to load, included. $(BACKFILL_USAGE))
endif
endif

backfill: $(STAMP)
	$(BIN)/python -m hub_pipeline.cli backfill --from $(FROM) --to $(TO) $(if $(SOURCES),--sources $(SOURCES)) $(if $(RADARS),--radars $(RADARS)) $(if $(BRIEFINGS),--with-briefings)

test: $(STAMP)
	$(BIN)/python -m pytest

dev: $(STAMP)
	$(BIN)/python -c "from pathlib import Path; from hub_pipeline.cli import prepare_instance; prepare_instance(Path('$(HUB_DATA_DIR)'))"
	$(BIN)/dagster dev -w workspace.yaml

# make validate [SOURCES=file] [RADARS=file]: the configuration files, then the Dagster definitions.
# Dagster's notice that `dagster definitions validate` is superseded is silenced: the `dg`
# command it recommends is not installed, and the check itself still runs in full.
validate: $(STAMP)
	$(BIN)/python -m hub_pipeline.cli check $(if $(SOURCES),--sources $(SOURCES)) $(if $(RADARS),--radars $(RADARS))
	$(BIN)/python -c "from pathlib import Path; from hub_pipeline.cli import prepare_instance; prepare_instance(Path('$(HUB_DATA_DIR)'))"
	PYTHONWARNINGS='ignore:Function `definitions_validate_command` is superseded' $(BIN)/dagster definitions validate -w workspace.yaml

# Re-pin requirements.lock after changing pyproject.toml (needs uv; the lock records no index URL).
lock:
	uv pip compile pyproject.toml --extra dev --python-version 3.11 --no-header --quiet -o requirements.lock

clean-data:
	rm -rf $(HUB_DATA_DIR)
