# The course's commands. Each one makes .venv first if it is missing or out of date.
# Every target is a thin wrapper over `python tools/tasks.py …` (see that file), so the
# same commands work without make.
#   make lab            JupyterLab on your own copies of the lessons (my-notebooks/, made once); prints
#                       the first lesson's URL
#   make update-lesson  NB=05: a fresh copy of one lesson; yours moves to my-notebooks/old/
#   make test           unit tests + strict nbval of every notebook, offline, on CPU
#   make test-commands  the course's own commands (new-exercise, refresh, student, lab, …) end to end on
#                       copies of the course
#   make test-portable  the strict notebook check again on torch's scalar kernels, one thread
#   make lint           ruff on the code, nbQA-ruff on the notebooks, actionlint on the workflows (when installed)
#   make test-browser   every lesson run in JupyterLab in headless Chromium (needs chromium, chromium-driver)
#   make test-cuda      the notebooks on a GPU (COURSE_DEVICE=cuda, device-independent cells compared)
#   make refresh        re-execute notebooks whole (NB=notebooks/04_convolution.ipynb for one)
#   make refresh-stale  re-execute only the lessons whose stored outputs are stale
#   make lab-course     JupyterLab on the tracked lessons (instructors)
#   make student        exercise copies without solutions in build/student/
#   make new-exercise   NB=05 NAME=padding_for_10 [KIND=int]: a new exercise's cells and entry, to fill in
#   make site           the course as a static website in build/site/ (stored outputs, never executed;
#                       installs the [site] extra into .venv first)
#   make test-site      every page of build/site/ served locally and opened in headless Chromium

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SITE_STAMP := $(VENV)/.installed-site
TASKS  := $(BIN)/python tools/tasks.py
LAB_ARGS ?=
NB     ?=

.PHONY: venv lab lab-course update-lesson test test-commands test-portable lint test-browser test-cuda refresh refresh-stale student new-exercise site test-site clean

venv: $(STAMP)

# Re-run only when the dependency files change (or the venv is missing).
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) tools/tasks.py venv

lab: $(STAMP)
	$(TASKS) lab $(LAB_ARGS)

lab-course: $(STAMP)
	$(TASKS) lab-course $(LAB_ARGS)

update-lesson: $(STAMP)
	$(TASKS) update-lesson $(NB)

test: $(STAMP)
	$(TASKS) test

test-commands: $(STAMP)
	$(TASKS) test-commands

test-portable: $(STAMP)
	$(TASKS) test-portable

lint: $(STAMP)
	$(TASKS) lint

test-browser: $(STAMP)
	$(TASKS) test-browser

test-cuda: $(STAMP)
	$(TASKS) test-cuda

refresh: $(STAMP)
	$(TASKS) refresh $(NB)

refresh-stale: $(STAMP)
	$(TASKS) refresh --stale $(NB)

student: $(STAMP)
	$(TASKS) student

$(SITE_STAMP): pyproject.toml constraints.txt
	$(PYTHON) tools/tasks.py venv --site

site: $(SITE_STAMP)
	$(TASKS) site

test-site: $(SITE_STAMP)
	$(TASKS) test-site

KIND   ?= int
NAME   ?=
new-exercise: $(STAMP)
	$(TASKS) new-exercise $(NB) $(NAME) --kind $(KIND)

# removes only what the commands above made; my-notebooks/ (your work) is never touched
clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis
