# The course's commands. Each one makes .venv first if it is missing or out of date.
# Every target is a thin wrapper over `python -m companion.tasks …` (see that file),
# so the same commands work without make.
#   make lab        JupyterLab on notebooks/00_overview.ipynb
#   make test       unit tests + strict nbval of every notebook, offline, on CPU
#   make test-cuda  the notebooks on a GPU (COURSE_DEVICE=cuda, device-independent cells compared)
#   make refresh    re-execute notebooks in place (NB=notebooks/03_conv1.ipynb for one)
#   make student    exercise copies without solutions in build/student/

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LAB_ARGS ?=
NB     ?=

.PHONY: venv lab test test-cuda refresh student clean

venv: $(STAMP)

# Re-run only when the dependency files change (or the venv is missing).
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) companion/tasks.py venv

lab: $(STAMP)
	$(BIN)/python -m companion.tasks lab $(LAB_ARGS)

test: $(STAMP)
	$(BIN)/python -m companion.tasks test

test-cuda: $(STAMP)
	$(BIN)/python -m companion.tasks test-cuda

refresh: $(STAMP)
	$(BIN)/python -m companion.tasks refresh $(NB)

student: $(STAMP)
	$(BIN)/python -m companion.tasks student

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis
