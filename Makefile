# Two commands do everything on a fresh machine with Python 3.11 and pip:
#   make test   set up .venv, then run every test (float64) and a float32 smoke subset
#               (pytest-xdist, 2 workers: the tests are mostly single-threaded compiles)
#   make demo   set up .venv, then regenerate figures/
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export TF_CPP_MIN_LOG_LEVEL := 3
export PYTHONHASHSEED := 0

.PHONY: setup test test-x64 test-x32 demo bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

test: setup test-x64 test-x32

test-x64:
	JAX_ENABLE_X64=1 $(PY) -m pytest -q -p no:cacheprovider -n 2 tests

test-x32:
	JAX_ENABLE_X64=0 $(PY) -m pytest -q -p no:cacheprovider -n 2 -m smoke tests

demo: setup
	JAX_ENABLE_X64=1 MPLBACKEND=Agg $(PY) -m nt_complex.cli demo --out figures

bench: setup
	JAX_ENABLE_X64=1 $(PY) -m bench.run

clean:
	rm -rf $(VENV)
