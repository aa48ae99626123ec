# The course's commands. Each one makes .venv first if it is missing or out of date.
#   make lab       JupyterLab on notebooks/00_overview.ipynb
#   make test      unit tests + strict nbval of every notebook, offline, on CPU
#   make refresh   re-execute notebooks in place (NB=notebooks/03_conv1.ipynb for one)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LAB_ARGS ?=
NB     ?=

.PHONY: venv lab test refresh clean

venv: $(STAMP)

# Re-run only when the dependency files change (or the venv is missing).
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

lab: $(STAMP)
	$(BIN)/python -m companion.tasks lab $(LAB_ARGS)

test: $(STAMP)
	$(BIN)/python -m companion.tasks test

refresh: $(STAMP)
	$(BIN)/python -m companion.tasks refresh $(NB)

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis
