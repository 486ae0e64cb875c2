"""Conv blocks: CIRCULAR padding equals Dense; SAME differs and runs (seed 002)."""

import jax
import numpy as np
import pytest
from neural_tangents import stax

import nt_complex.stax as cstax
from nt_complex.phase import Status, phase_diagram



W = np.array([0.8, 1.6, 2.4])
B = np.array([0.02, 0.2])


def _conv_erf(padding):
    return lambda w, b: stax.serial(
        stax.Conv(64, (3, 3), padding=padding, W_std=w, b_std=b), stax.Erf())


def test_circular_equals_dense():
    dense = phase_diagram(lambda w, b: stax.serial(stax.Dense(64, w, b), stax.Erf()), W, B)
    conv = phase_diagram(_conv_erf("CIRCULAR"), W, B, input_shape=(4, 4))
    assert conv.q_star.shape == (2, 3, 4, 4)
    for pos in [(0, 0), (1, 2), (3, 3)]:
        np.testing.assert_allclose(conv.q_star[..., pos[0], pos[1]], dense.q_star, atol=1e-8, rtol=0)
        np.testing.assert_allclose(conv.c_star[..., pos[0], pos[1]], dense.c_star, atol=1e-8, rtol=0)
    np.testing.assert_allclose(conv.chi_1, dense.chi_1, atol=1e-8, rtol=0)


def test_complex_circular_equals_dense():
    dense = phase_diagram(lambda w, b: cstax.serial(cstax.Dense(8, w, b), cstax.SplitErf()), W, B)
    conv = phase_diagram(lambda w, b: cstax.serial(
        cstax.Conv(8, (3,), padding="CIRCULAR", W_std=w, b_std=b), cstax.SplitErf()),
        W, B, input_shape=(5,))
    np.testing.assert_allclose(conv.c_star[..., 2], dense.c_star, atol=1e-8, rtol=0)
    np.testing.assert_allclose(conv.chi_1, dense.chi_1, atol=1e-8, rtol=0)
    np.testing.assert_allclose(conv.chi_phase, dense.chi_phase, atol=1e-8, rtol=0)


def test_same_padding_relu_seed_case():
    body = lambda w, b: stax.serial(
        stax.Conv(1024, (3, 3), padding="SAME", W_std=w, b_std=b), stax.Relu())
    same = phase_diagram(body, W, B, input_shape=(4, 4))
    valid_status = np.isin(same.status, [Status.OK, Status.SCALE_FREE])
    assert valid_status.all() and np.all(np.isfinite(same.chi_1))
    dense = phase_diagram(lambda w, b: stax.serial(stax.Dense(8, w, b), stax.Relu()), W, B)
    assert np.all(same.chi_1 < dense.chi_1 - 1e-3)  # zero padding loses signal at borders
    q = same.q_star[1, 0]  # border positions see fewer inputs than the centre
    assert q[0, 0] < q[1, 1]
    # The seed's full network (with its readout) is not repeatable: clear error.
    seed = lambda w, b: stax.serial(
        stax.Conv(1024, (3, 3), padding="SAME", W_std=w, b_std=b), stax.Relu(),
        stax.Flatten(), stax.Dense(10, W_std=w, b_std=b))
    with pytest.raises(ValueError, match="readout"):
        phase_diagram(seed, W, B, input_shape=(4, 4))


def test_valid_padding_is_rejected_clearly():
    body = lambda w, b: stax.serial(stax.Conv(8, (3, 3), padding="VALID", W_std=w, b_std=b),
                                    stax.Erf())
    with pytest.raises(ValueError, match="repeated"):
        phase_diagram(body, W, B, input_shape=(4, 4))
