# The two commands a newcomer needs: `make run` and `make test`. Both set everything up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?=
TRANSLATIONS := billing_admin/translations
CATALOGUES := $(wildcard $(TRANSLATIONS)/*/LC_MESSAGES/messages.po)
# Beyond pybabel's defaults (gettext, ngettext, pgettext, _): Flask-Babel's lazy forms.
# tests/test_i18n_catalogue.py extracts with the same keywords and directories.
EXTRACT_KEYWORDS := -k lazy_gettext -k lazy_ngettext:1,2 -k lazy_pgettext:1c,2

export FLASK_APP := wsgi

.PHONY: run test lint format install install-dev clean messages translations

## run: create .venv, install, migrate, seed the standard plans, create a first admin if there is
## none (its password is printed once), add 3,000 demo subscriptions to an empty database,
## serve on http://127.0.0.1:5000
# FLASK_DEBUG=1 is development mode: a secret key is generated in instance/ and the code reloads.
# --no-debugger: even here, an error shows our error page, never an interactive traceback.
run: install translations
	FLASK_DEBUG=1 $(BIN)/flask db upgrade
	FLASK_DEBUG=1 $(BIN)/flask seed-plans --include-annual --include-promo
	FLASK_DEBUG=1 $(BIN)/flask bootstrap-admin
	FLASK_DEBUG=1 $(BIN)/flask seed-demo --subscriptions 3000 --random-seed 1 --if-empty
	FLASK_DEBUG=1 $(BIN)/flask run --host $(HOST) --port $(PORT) --no-debugger

## test: create .venv if needed, install with the dev extras, run pytest
## (set TEST_DATABASE_URL=postgresql+psycopg://... to run the database tests on PostgreSQL too)
test: install-dev translations
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## lint: ruff check and ruff format --check
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## format: apply ruff's fixes and formatting
format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## messages: extract the interface's strings into messages.pot and merge them into each
## catalogue (billing_admin/translations/<lang>/LC_MESSAGES/messages.po); then translate the new
## entries (and any marked fuzzy) in the .po files. tests/test_i18n.py fails until every string
## is translated.
messages: install
	$(BIN)/pybabel -q extract -F babel.cfg $(EXTRACT_KEYWORDS) --ignore-dirs '.* __pycache__' \
		--no-location --sort-output -o $(TRANSLATIONS)/messages.pot .
	$(BIN)/pybabel -q update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --no-wrap \
		--ignore-obsolete --no-fuzzy-matching --ignore-pot-creation-date

## translations: compile the catalogues (.po → .mo, which are not committed); run and test do it
translations: $(CATALOGUES:.po=.mo)

%.mo: %.po | $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -i $< -o $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; run e.g. make PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
