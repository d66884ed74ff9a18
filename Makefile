# Two commands do everything on a fresh machine with Python 3.11+:
#   make run   - set up and start the service at http://127.0.0.1:8000 (SQLite under ./data)
#   make test  - set up and run the whole suite on SQLite, then on a throwaway PostgreSQL
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SCREENSHOTS := test-artifacts/screenshots

.PHONY: lock run test test-sqlite test-postgres fuzz bench chaos lint migrate worker messages clean

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

run: $(STAMP)
	@scripts/system-deps.sh run
	$(BIN)/botcraft migrate
	$(BIN)/botcraft serve

migrate: $(STAMP)
	$(BIN)/botcraft migrate

worker: $(STAMP)
	$(BIN)/botcraft worker

test: lint
	@scripts/system-deps.sh test
	@rm -rf $(SCREENSHOTS)
	BOTCRAFT_TEST_DB=sqlite $(BIN)/python -m pytest
	BOTCRAFT_TEST_DB=postgresql $(BIN)/python -m pytest
	@echo "Screenshots of every screen: $(SCREENSHOTS)/"

test-sqlite: $(STAMP)
	BOTCRAFT_TEST_DB=sqlite $(BIN)/python -m pytest $(ARGS)

test-postgres: $(STAMP)
	BOTCRAFT_TEST_DB=postgresql $(BIN)/python -m pytest $(ARGS)

# The API fuzzing of `make test`, longer and with fresh randomness each run, on both databases.
FUZZ_EXAMPLES ?= 150
fuzz: $(STAMP)
	@scripts/system-deps.sh test
	BOTCRAFT_TEST_DB=sqlite BOTCRAFT_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) BOTCRAFT_FUZZ_RANDOM=1 \
		$(BIN)/python -m pytest tests/integration/test_api_fuzz.py $(ARGS)
	BOTCRAFT_TEST_DB=postgresql BOTCRAFT_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) BOTCRAFT_FUZZ_RANDOM=1 \
		$(BIN)/python -m pytest tests/integration/test_api_fuzz.py $(ARGS)

bench: $(STAMP)
	@scripts/system-deps.sh bench
	$(BIN)/python -m bench $(ARGS)

# Two serve and two worker processes on PostgreSQL, killed at random (also part of `make bench`).
chaos: $(STAMP)
	@scripts/system-deps.sh bench
	$(BIN)/python -m bench chaos

lint: $(STAMP)
	$(BIN)/ruff check botcraft tests bench
	$(BIN)/mypy botcraft
	$(BIN)/lint-imports

# Bring the message catalogue in step with the code; then translate the new entries in
# botcraft/i18n/locales/ru/LC_MESSAGES/messages.po (a test fails while any is untranslated).
messages: $(STAMP)
	$(BIN)/python -m botcraft.i18n.extract

clean:
	rm -rf $(VENV) test-artifacts

# Re-pin every package after changing pyproject.toml's dependencies.
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet -e '.[dev]'
	(echo '# Every package, pinned; made from pyproject.toml with `make lock`.'; \
	 .venv-lock/bin/pip freeze --exclude-editable | grep -vi '^botcraft') > requirements.lock
	rm -rf .venv-lock
