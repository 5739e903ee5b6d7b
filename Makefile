# The two commands of the README:
#   make report   set everything up, then build the flagship report (reports/);
#                 make report DATA=entries.sqlite reports on forms keyed with `survey entry`
#   make test     set everything up, then run every test
# Set-up is idempotent: .venv is created when missing and the project is installed into it
# from the tested versions in requirements.lock; Debian packages needed for PDF output
# (chromium, fonts-noto-cjk, poppler-utils) are installed through apt-get when absent.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SYSPKG := chromium fonts-noto-cjk poppler-utils
DATA   ?= data/grassroots_training_responses.csv

.PHONY: report test setup system-deps lint bench lock clean

report: setup
	$(BIN)/survey report grassroots_training $(DATA) --notebook grassroots_training --out reports --to html,pdf --lang zh-Hant

# compileall writes survey's bytecode once, even under PYTHONDONTWRITEBYTECODE=1: every test
# worker, CLI run and report kernel then loads it instead of compiling ~34k lines again; pytest
# runs with bytecode writing on, so its assertion-rewritten test modules are cached
# (__pycache__, git-ignored) instead of rewritten by every worker on every run (~3 s of CPU each)
test: setup
	$(BIN)/ruff check survey tests bench
	$(BIN)/python -m compileall -q survey
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q -n 2

setup: system-deps $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

system-deps:
	@bash scripts/install-system-deps.sh $(SYSPKG)

lint: setup
	$(BIN)/ruff check survey tests bench

bench: setup
	$(BIN)/python -m bench

lock:
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^survey-toolkit' > requirements.lock

clean:
	rm -rf reports build dist .pytest_cache
