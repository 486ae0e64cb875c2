"""PhaseDiagram.plot: flagged regions hatched with legend entries, only existing
chi = 1 lines, the saddle-node line, chi colour maps (synthetic diagrams)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from nt_complex.phase import PhaseDiagram, Status  # noqa: E402
from nt_complex.phase.plot import HATCHES  # noqa: E402


def _diagram(chi_phase_scale=0.3):
    W, b = np.linspace(0.5, 3, 6), np.linspace(0, 0.5, 4)
    w = np.broadcast_to(W, (4, 6))
    status = np.zeros((4, 6), np.int8)
    status[0, :2] = Status.Q_ZERO
    status[1:, 5] = Status.NO_FIXED_POINT
    status[0, 5] = Status.SCALE_FREE
    chi_1 = w / 2.0
    chi_1[1:, 5] = np.nan
    chi_1[0, 5] = np.inf
    c = np.where(chi_1 < 1, 1.0, 0.5) + 0j
    return PhaseDiagram(W_var=W, b_var=b, q_star=np.ones((4, 6)), c_star=c, chi_1=chi_1,
                        chi_phase=chi_phase_scale * w, status=status, is_complex=True,
                        spatial_shape=())


def _labels(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_flags_lines_and_saddle_node():
    fig, ax = plt.subplots()
    _diagram().plot(ax=ax, saddle_node=(np.array([2.5, 2.8]), np.array([0.1, 0.4])))
    labels = _labels(ax)
    for code in (Status.NO_FIXED_POINT, Status.SCALE_FREE, Status.Q_ZERO):
        assert HATCHES[code][1] in labels
    assert HATCHES[Status.C_NOT_CONVERGED][1] not in labels  # not present: no entry
    assert r"$\chi_1 = 1$" in labels
    assert r"$\chi_{phase} = 1$" not in labels  # chi_phase = 0.3 W_var < 1 everywhere
    assert any("saddle node" in label for label in labels)
    plt.close(fig)


@pytest.mark.parametrize("color", ["chi_1", "chi_phase", "c_star"])
def test_color_maps(color):
    fig, ax = plt.subplots()
    _diagram(chi_phase_scale=0.5).plot(ax=ax, color=color)
    labels = _labels(ax)
    assert r"$\chi_{phase} = 1$" in labels  # 0.5 W_var crosses 1 at W_var = 2
    plt.close(fig)
    with pytest.raises(ValueError, match="color"):
        _diagram().plot(color="q")
