# rupn-bot: two commands do everything on a fresh machine.
#   make demo   a throwaway Synapse, the bot and a scripted staff-room scenario
#   make test   lint, type checks and every test (end-to-end against a real Synapse)
#   make unit   the unit tests alone, in seconds (no Synapse, no Node, no coverage)
#   make bilan-apercu   the annual bilan of a synthetic year, printed by headless Chromium

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The Element-grade test client (matrix-js-sdk in Node, devtools/element.py drives it).
# npm rewrites node_modules/.package-lock.json on every install: it is the stamp.
ELEMENT      := devtools/element
ELEMENT_DEPS := $(ELEMENT)/node_modules/.package-lock.json

# Coverage of bot/ and handlers/ as the test process sees it: the unit tests and the one
# end-to-end scene that runs the bot in the test process (test_backfill), which therefore runs
# with them; not the bot's child processes (see [tool.coverage] in pyproject.toml). The other
# end-to-end scenes run without coverage: tracing their nio clients cost about 30 % of the
# test process's CPU. 93.2-93.3 % when set; 95 % on 7 December 2026 (unit tests and
# test_backfill). Raise it when coverage rises; never lower it.
COVERAGE_FLOOR := 93
IN_PROCESS_E2E := tests/e2e/test_backfill.py
# The end-to-end scenes keep their homeservers, bots and clients (SQLite databases that fsync at
# every commit) in memory where the machine has /dev/shm; only a failed scene's files are kept.
# The unit tests' databases too (about 2 s less).
TEST_TMPDIR := $(firstword $(wildcard /dev/shm) $(or $(TMPDIR),/tmp))

.PHONY: dovecot install test lint pytest unit demo demo-live bench bilan-apercu clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(ELEMENT_DEPS): $(ELEMENT)/package-lock.json
	cd $(ELEMENT) && npm ci --no-audit --no-fund
	touch $@

# The real IMAP server of the mailbox tests (devtools/imap.py starts its own, on loopback,
# on free ports): Debian's package, installed when missing. Its system service is not
# wanted: RUNLEVEL=1 keeps invoke-rc.d from starting it, and where systemd started it
# anyway it is stopped and disabled.
dovecot:
	@command -v dovecot >/dev/null 2>&1 || { \
		SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
		$$SUDO apt-get update -qq && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 \
			apt-get install -y -qq dovecot-imapd >/dev/null && \
		{ $$SUDO systemctl disable --now dovecot.service >/dev/null 2>&1 || true; }; }

install: $(STAMP) $(ELEMENT_DEPS) dovecot

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The unit tests run on every core, with coverage, and the lint beside them (they leave about
# a fifth of the two cores idle). Then the end-to-end tests run in four workers, each with its
# own Synapse (a worker's tests share one), stealing work from each other, and beside them the
# one scene that runs the bot in the test process (test_backfill, measured by coverage). What
# runs beside shows its output when it is done.
# (One after the other, on 7 December 2026 on two idle cores: lint 18 s, unit tests 62 s,
# test_backfill 17 s, end-to-end 155 s.)
# Python caches the bytecode of the bot's modules (__pycache__/, ignored by git) even where
# the environment says not to; the scenes fork their bots from one process that imported the
# bot once (devtools/bot_forks.py). CPU time of the end-to-end run (user + sys of all its
# processes, 7 December 2026): 437 s before these (Synapse 176, bots 131, test processes 103,
# Node 17), 270 s after (Synapse 149, bots 56, test processes 42, Node 18).
BESIDE := build/beside

pytest: export PYTHONDONTWRITEBYTECODE :=
pytest: $(STAMP) $(ELEMENT_DEPS) dovecot
	@mkdir -p $(BESIDE)
	@{ $(MAKE) --no-print-directory lint > $(BESIDE)/lint.log 2>&1; \
		echo $$? > $(BESIDE)/lint.rc; } & \
	TMPDIR=$(TEST_TMPDIR) $(BIN)/pytest -q -n auto --dist worksteal tests/unit --cov \
		--cov-report= -o tmp_path_retention_policy=failed; rc=$$?; \
	wait; echo "--- lint (beside the unit tests)"; cat $(BESIDE)/lint.log; \
	test $$rc = 0 && test "$$(cat $(BESIDE)/lint.rc)" = 0
	@{ $(BIN)/pytest -q -p no:randomly $(IN_PROCESS_E2E) --cov --cov-append --cov-report= \
		> $(BESIDE)/in-process.log 2>&1; echo $$? > $(BESIDE)/in-process.rc; } & \
	TMPDIR=$(TEST_TMPDIR) $(BIN)/pytest --durations=15 -n 4 --dist worksteal tests/e2e \
		--ignore=$(IN_PROCESS_E2E) -o tmp_path_retention_policy=failed; rc=$$?; \
	wait; echo "--- $(IN_PROCESS_E2E) (beside the end-to-end tests, with coverage)"; \
	cat $(BESIDE)/in-process.log; \
	test $$rc = 0 && test "$$(cat $(BESIDE)/in-process.rc)" = 0
	$(BIN)/coverage report --fail-under=$(COVERAGE_FLOOR)

# Everything: lint, unit tests, end-to-end tests, coverage floor (the lint runs in `pytest`,
# beside the unit tests).
test: pytest

# The unit tests are CPU-bound and independent: one worker per core (≈ 25 % faster on two).
unit: $(STAMP)
	$(BIN)/pytest -q -n auto tests/unit

demo: $(STAMP)
	$(BIN)/rupn-bot demo

demo-live: $(STAMP)
	$(BIN)/rupn-bot demo --keep-running

bench: $(STAMP)
	$(BIN)/python -m bench.dispatch
	$(BIN)/python -m bench.metrics_overhead
	$(BIN)/python -m bench.latency
	$(BIN)/python -m bench.feeds
	$(BIN)/python -m bench.feeds_schools
	$(BIN)/python -m bench.fanout
	$(BIN)/python -m bench.fairness
	$(BIN)/python -m bench.letter
	$(BIN)/python -m bench.bilan
	$(BIN)/python -m bench.academie_bilan
	$(BIN)/python -m bench.letter_schools
	$(BIN)/python -m bench.memory
	$(BIN)/python -m bench.memory_schools

# What a RUPN prints: the HTML bilan of bench/bilan.py's synthetic school year, printed to
# PDF by headless Chromium (Debian's chromium package) and captured as a PNG of its first
# page. The bilan asks for A4 itself (@page). Not part of `make test`: it needs Chromium,
# which only this target uses.
CHROMIUM     ?= chromium
BILAN_APERCU := build/bilan-apercu
BILAN_NAME   := bilan-2025-2026
CHROMIUM_RUN := $(CHROMIUM) --headless --no-sandbox --disable-gpu --hide-scrollbars

bilan-apercu: $(STAMP)
	@command -v $(CHROMIUM) >/dev/null 2>&1 || { \
		echo "Chromium est introuvable : installez-le (apt-get install chromium), puis relancez make bilan-apercu." >&2; \
		exit 1; }
	$(BIN)/python -m bench.bilan --runs 1 --sortie $(BILAN_APERCU)
	$(CHROMIUM_RUN) --no-pdf-header-footer --print-to-pdf=$(BILAN_APERCU)/$(BILAN_NAME).pdf \
		file://$(abspath $(BILAN_APERCU))/$(BILAN_NAME).html 2>$(BILAN_APERCU)/chromium.log \
		|| { cat $(BILAN_APERCU)/chromium.log >&2; exit 1; }
	$(CHROMIUM_RUN) --window-size=794,1123 --force-device-scale-factor=1.5 \
		--screenshot=$(BILAN_APERCU)/$(BILAN_NAME).png \
		file://$(abspath $(BILAN_APERCU))/$(BILAN_NAME).html 2>>$(BILAN_APERCU)/chromium.log \
		|| { cat $(BILAN_APERCU)/chromium.log >&2; exit 1; }
	@test -s $(BILAN_APERCU)/$(BILAN_NAME).pdf && test -s $(BILAN_APERCU)/$(BILAN_NAME).png
	@echo "Aperçu imprimé : $(BILAN_APERCU)/$(BILAN_NAME).pdf (A4) et $(BILAN_APERCU)/$(BILAN_NAME).png (première page)."

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis build/coverage $(ELEMENT)/node_modules
