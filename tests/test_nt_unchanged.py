"""Neural Tangents computes the same kernels on every supported stack: the kernels
stored from the legacy stack (jax 0.5.3) are reproduced on the running one, and NT's
forward-mode crash on some jaxlib releases is caught in a subprocess."""

import importlib.util
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

import nt_reference_networks

HERE = os.path.dirname(__file__)
TABLE = np.load(os.path.join(HERE, "data", "nt_reference_kernels.npz"))


@pytest.fixture(scope="module")
def table():
    return nt_reference_networks.compute_table()


# The table takes ~35 s (NT's kernels, eager as stored): one worker computes it.
@pytest.mark.xdist_group("nt_reference_table")
def test_stored_table_covers_every_network(table):
    assert sorted(table) == sorted(k for k in TABLE.files if k != "jax_version")
    assert str(TABLE["jax_version"]) == "0.5.3"


@pytest.mark.xdist_group("nt_reference_table")
@pytest.mark.parametrize("name", sorted(nt_reference_networks.networks()))
def test_nt_kernels_equal_the_legacy_stack(table, name):
    for key in (k for k in table if k.startswith(name + "_")):
        stored = TABLE[key]
        np.testing.assert_allclose(table[key], stored, rtol=0,
                                   atol=1e-12 * np.max(np.abs(stored)), err_msg=key)


def test_forward_mode_through_nt_wide_resnet_does_not_crash():
    """NT's regression test for its issue #123; segfaults on jaxlib 0.8.3 and 0.10.2."""
    script = os.path.join(HERE, "scripts", "nt_wide_resnet_jacfwd.py")
    env = dict(os.environ, JAX_ENABLE_X64="1")
    run = subprocess.run([sys.executable, script], capture_output=True, text=True, env=env,
                         timeout=600)
    assert run.returncode == 0 and run.stdout.startswith("ok"), (
        f"jax {jax.__version__}: exit code {run.returncode} (negative = killed by a signal)\n"
        f"{run.stderr[-2000:]}")


@pytest.mark.parametrize("trace_axes", [(), (-1,)])
def test_nt_structured_empirical_ntk_runs_and_equals_its_jacobian_contraction(trace_axes):
    """NT's implementation 3 (structured derivatives) needs two names that JAX moved;
    nt_complex's compatibility layer restores them on every stack."""
    import neural_tangents as nt
    from neural_tangents import stax

    init_fn, apply_fn, _ = stax.serial(stax.Conv(6, (3, 3), padding="SAME"), stax.Relu(),
                                       stax.Flatten(), stax.Dense(16), stax.Erf(),
                                       stax.Dense(3))
    x = jax.random.normal(jax.random.PRNGKey(0), (5, 4, 4, 2))
    _, params = init_fn(jax.random.PRNGKey(1), x.shape)
    kernels = [nt.empirical_ntk_fn(apply_fn, trace_axes=trace_axes, implementation=i)(
        x, None, params) for i in (1, 3)]
    np.testing.assert_allclose(kernels[1], kernels[0], rtol=1e-12,
                               atol=1e-12 * float(np.max(np.abs(kernels[0]))))


def _run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0"))


def test_importing_nt_complex_never_imports_tensorflow():
    run = _run_python("import sys, nt_complex, neural_tangents\n"
                      "print(sorted(m for m in sys.modules if m.split('.')[0] in "
                      "('tensorflow', 'tf2jax')))")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
    assert "oneDNN" not in run.stderr and "cuda" not in run.stderr.lower(), run.stderr


def test_importing_nt_complex_leaves_scipy_special_for_first_use():
    # scipy.special (with its array-API layer and numpy.f2py) costs ~0.15 s of the
    # ~1.3 s import; the cardioid series and the initializer measurement load it on use.
    run = _run_python("import sys, nt_complex, neural_tangents\n"
                      "print('scipy.special' in sys.modules)")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "False"


HAS_TENSORFLOW = importlib.util.find_spec("tensorflow") is not None


@pytest.mark.skipif(HAS_TENSORFLOW, reason="the legacy stack has TensorFlow")
def test_tensorflow_bridge_without_tensorflow_raises_a_clear_import_error():
    import neural_tangents as nt
    with pytest.raises(ImportError, match="needs TensorFlow and tf2jax"):
        nt.experimental.empirical_ntk_fn_tf


@pytest.mark.skipif(not HAS_TENSORFLOW, reason="the default stack has no TensorFlow")
def test_tensorflow_bridge_loads_on_first_use_where_tensorflow_is_installed():
    run = _run_python("import sys, nt_complex, neural_tangents as nt\n"
                      "assert 'tensorflow' not in sys.modules\n"
                      "print(callable(nt.experimental.empirical_ntk_fn_tf), "
                      "'tensorflow' in sys.modules)")
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["True", "True"]
