# Two commands do everything on a fresh machine with Python and pip:
#   make test   set up .venv (default stack), then run every test (float64), a float32
#               smoke subset and the notebooks (pytest-xdist, 2 workers)
#   make demo   set up .venv, then regenerate figures/
# Stacks (README, "Stacks"): locks/default.txt (current jax, no TensorFlow) in .venv;
# locks/legacy.txt (jax 0.5.3 + Neural Tangents' declared requirements) in .venv-legacy,
# tested by `make test-legacy`. Both lock files are installed with --no-deps, so pip
# never resolves NT's TensorFlow requirement.
PYTHON ?= python3
PYTEST_ARGS := -q -p no:cacheprovider -n 2 --dist loadgroup --durations=15
export TF_CPP_MIN_LOG_LEVEL := 3
export PYTHONHASHSEED := 0
# Tests share compiled XLA programs through a persistent cache (identical networks built
# in different tests and in both xdist workers compile once): 13% less time measured on
# tests/test_empirical.py. Emptied at the start of each run, so timings stay honest.
TEST_CACHE := $(CURDIR)/.jax-test-cache
TEST_ENV := JAX_COMPILATION_CACHE_DIR=$(TEST_CACHE) JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0 \
	JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES=-1

.PHONY: setup setup-legacy test test-x64 test-x32 test-legacy test-legacy-full demo bench clean

# $(call venv_rules,FOLDER,LOCK): FOLDER/.installed from LOCK, then nt_complex editable.
define venv_rules
$(1)/.installed: pyproject.toml $(2)
	test -x $(1)/bin/python || $(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install --quiet --upgrade pip
	$(1)/bin/python -m pip install --quiet --no-deps -r $(2)
	$(1)/bin/python -m pip install --quiet --no-deps -e .
	touch $(1)/.installed
endef
$(eval $(call venv_rules,.venv,locks/default.txt))
$(eval $(call venv_rules,.venv-legacy,locks/legacy.txt))

setup: .venv/.installed
setup-legacy: .venv-legacy/.installed

test: setup test-x64 test-x32

test-x64:
	rm -rf $(TEST_CACHE)
	$(TEST_ENV) JAX_ENABLE_X64=1 .venv/bin/python -m pytest $(PYTEST_ARGS) tests

test-x32:
	$(TEST_ENV) JAX_ENABLE_X64=0 .venv/bin/python -m pytest $(PYTEST_ARGS) -m smoke tests

# The legacy stack runs what depends on the stack: NT itself (reduction to NT,
# NT's kernels and empirical NTKs, predict, batching), the empirical kernels,
# the notebooks, and the float32 smoke subset; `make test-legacy-full` runs
# everything (the full suite on both stacks does not fit CI's 45 minutes).
LEGACY_TESTS := tests/test_reduction_to_nt.py tests/test_nt_unchanged.py \
	tests/test_empirical.py tests/test_predict.py tests/test_batching.py \
	tests/test_notebooks.py
test-legacy: setup-legacy
	rm -rf $(TEST_CACHE)
	$(TEST_ENV) JAX_ENABLE_X64=1 .venv-legacy/bin/python -m pytest $(PYTEST_ARGS) $(LEGACY_TESTS)
	$(TEST_ENV) JAX_ENABLE_X64=0 .venv-legacy/bin/python -m pytest $(PYTEST_ARGS) -m smoke tests

test-legacy-full: setup-legacy
	rm -rf $(TEST_CACHE)
	$(TEST_ENV) JAX_ENABLE_X64=1 .venv-legacy/bin/python -m pytest $(PYTEST_ARGS) tests
	$(TEST_ENV) JAX_ENABLE_X64=0 .venv-legacy/bin/python -m pytest $(PYTEST_ARGS) -m smoke tests

demo: setup
	JAX_ENABLE_X64=1 MPLBACKEND=Agg .venv/bin/python -m nt_complex.cli demo --out figures

bench: setup
	JAX_ENABLE_X64=1 .venv/bin/python -m bench.run

clean:
	rm -rf .venv .venv-legacy $(TEST_CACHE)
