# The two commands: `make lab` to learn, `make test` to check everything.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# JupyterLab refuses to run as root unless told to (containers, CI, classroom VMs).
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab test clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.lab-installed: requirements.txt pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test-installed: requirements.txt requirements-test.txt pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $@

lab: $(VENV)/.lab-installed
	$(VENV)/bin/jupyter lab $(ALLOW_ROOT) --notebook-dir=notebooks

test: $(VENV)/.test-installed
	$(PY) -m pytest --nbval --nbval-current-env -p no:cacheprovider

clean:
	rm -rf $(VENV)
