# Rapport: `make run` starts everything locally, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test lint format install mailbox bench clean

run: $(INSTALLED)
	$(BIN)/python -m devtools.run

test: $(INSTALLED)
	$(BIN)/python -m devtools.testrun

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# make mailbox lists what the local SMTP sink kept; make mailbox N=2 shows message 2 in full.
mailbox: $(INSTALLED)
	$(BIN)/python manage.py mailbox $(N)

install: $(INSTALLED)

# Debian's python3 may lack ensurepip; python3-venv brings it.
$(INSTALLED): requirements.txt requirements-dev.txt requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || \
		{ apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt -c requirements.lock
	touch $(INSTALLED)

clean:
	rm -rf $(VENV) var/static
