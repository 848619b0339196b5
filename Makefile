# The two commands: `make lab` to learn, `make test` to check everything.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# JupyterLab refuses to run as root unless told to (containers, CI, classroom VMs).
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab test fuzz test-image site clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.lab-installed: requirements.txt pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test-installed: requirements.txt requirements-test.txt pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $@

# JupyterLab's news pop-up covers the lower right of the first picture, and its update check
# calls out: both off, for this venv's JupyterLab only (overrides.json: defaults a user's own
# settings still beat), as the browser tests have them.
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json

$(LAB_OVERRIDES):
	mkdir -p $(dir $@)
	printf '%s\n' '{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}}' > $@

lab: $(VENV)/.lab-installed $(LAB_OVERRIDES)
	$(VENV)/bin/jupyter lab $(ALLOW_ROOT) --notebook-dir=notebooks \
	  --LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate

# In parallel (pytest-xdist): one worker per CPU (TEST_WORKERS=1: one process). Each test
# file, and each notebook, stays whole on one worker; conftest.py sends the slow ones first.
# Every check still runs.
TEST_WORKERS ?= auto

test: $(VENV)/.test-installed
	$(PY) -m pytest --nbval --nbval-current-env -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# The static site: every notebook with its saved outputs and the explorer without a kernel,
# fully offline (open site/index.html, or serve the folder anywhere).
site: $(VENV)/.lab-installed
	$(PY) scripts/build_site.py --out site

# The hub's image (deploy/singleuser), built and every notebook run inside it: minutes, so it is
# not part of `make test`. Needs a running dockerd, and root the first time (debootstrap).
test-image: $(VENV)/.test-installed
	K8SLAB_DOCKER_TESTS=1 $(PY) -m pytest tests/docker -p no:cacheprovider -s

# The long fuzz run (issue 14): K8SLAB_FUZZ_EXAMPLES mutated inputs (100,000 by default) and 300
# command-line runs over 2 processes, then 8 threads routing and drawing for 30 s; the figures
# land in benchmarks/fuzz.md. About half an hour on 2 cores.
fuzz: $(VENV)/.test-installed
	$(PY) benchmarks/fuzz.py --examples $${K8SLAB_FUZZ_EXAMPLES:-100000} --cli 300 --workers 2 --write
	K8SLAB_CONCURRENCY_SECONDS=30 $(PY) -m pytest -p no:cacheprovider -q tests/test_fuzz.py -k threads

clean:
	rm -rf $(VENV)
