"""Measured S-parameters bundled with scikit-rf, and the train / held-out splits.

Only the files that are vector-network-analyzer *measurements* are used. The
other bundled Touchstone files are ideal models: the ``wr2p2,*`` and ``wr1p5,*``
lines have ``|S21| = 1`` and ``S11 = 0`` to machine precision, the shorts
``S11 = -1`` exactly, the delay short ``|S11| = 1`` exactly.

* ``ring slot measured.s1p``: a WR-10 ring-slot resonator, 75-110 GHz, 101 points
  (its simulated twin is ``ring slot.s2p``).
* ``ro,1.s1p``, ``ro,2.s1p``, ``ro,3.s1p``: three measurements of a WR-1.5
  radiating open, 500-750 GHz, 201 points each (scikit-rf's `NetworkSet`
  example of measurement spread).

All four are one-ports: the target is ``S11``.

scikit-rf is an optional dependency (``pip install nt_complex[measured]``);
only the loader imports it.
"""

from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np

#: Bundled measured Touchstone files (in ``skrf.data``) and the S-parameter used.
MEASURED_FILES = {
    "ring slot measured": ("ring slot measured.s1p", (0, 0)),
    "ro,1": ("ro,1.s1p", (0, 0)),
    "ro,2": ("ro,2.s1p", (0, 0)),
    "ro,3": ("ro,3.s1p", (0, 0)),
}

#: The two held-out splits.
SPLITS = ("random80", "band20")

INSTALL_HINT = ("the measured S-parameter demo needs scikit-rf: "
                "pip install 'nt_complex[measured]' (or pip install scikit-rf==2.2.0)")


class Measurement(NamedTuple):
    """One measured S-parameter trace.

    Attributes:
      name: key of `MEASURED_FILES`.
      freq_hz: frequencies (ascending, Hz), shape ``(N,)``.
      x: frequencies mapped affinely onto ``[-1, 1]``.
      s: complex S-parameter ``(N,)``.
      parameter: e.g. ``'S11'``.
    """

    name: str
    freq_hz: np.ndarray
    x: np.ndarray
    s: np.ndarray
    parameter: str


def import_skrf():
    """scikit-rf, or an `ImportError` telling how to install the extra.

    Example:
      >>> import_skrf().__name__
      'skrf'
    """
    try:
        import skrf
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(INSTALL_HINT) from error
    return skrf


def skrf_data_dir() -> str:
    """Folder of scikit-rf's bundled Touchstone files (imports scikit-rf).

    Example:
      >>> os.path.isfile(os.path.join(skrf_data_dir(), 'ro,1.s1p'))
      True
    """
    return os.path.dirname(os.path.abspath(import_skrf().data.__file__))


def normalise_frequency(freq_hz: np.ndarray) -> np.ndarray:
    """Affine map of the (ascending) frequencies onto ``[-1, 1]``.

    Example:
      >>> normalise_frequency(np.array([75e9, 92.5e9, 110e9])).tolist()
      [-1.0, 0.0, 1.0]
    """
    freq_hz = np.asarray(freq_hz, float)
    if freq_hz.ndim != 1 or freq_hz.size < 2 or not np.all(np.diff(freq_hz) > 0):
        raise ValueError("freq_hz must be a 1-d strictly ascending array of >= 2 "
                         f"frequencies; got shape {freq_hz.shape}.")
    return 2 * (freq_hz - freq_hz[0]) / (freq_hz[-1] - freq_hz[0]) - 1


def load_measurement(name: str) -> Measurement:
    """Load one bundled measurement (sorted by frequency, NaN-checked).

    Example:
      >>> m = load_measurement('ro,1')
      >>> m.s.shape, m.parameter, float(m.x[0]), float(m.x[-1])
      ((201,), 'S11', -1.0, 1.0)
    """
    if name not in MEASURED_FILES:
        raise ValueError(f"name must be one of {sorted(MEASURED_FILES)}; got {name!r}.")
    skrf = import_skrf()
    filename, (i, j) = MEASURED_FILES[name]
    network = skrf.Network(os.path.join(skrf_data_dir(), filename))
    order = np.argsort(network.f)
    freq, s = np.asarray(network.f, float)[order], np.asarray(network.s[order, i, j])
    if not (np.all(np.isfinite(freq)) and np.all(np.isfinite(s))):
        raise ValueError(f"{filename}: non-finite frequencies or S-parameters.")
    return Measurement(name, freq, normalise_frequency(freq), s.astype(complex),
                       f"S{i + 1}{j + 1}")


def split_indices(n: int, kind: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sorted ``(train, held_out)`` indices of ``n`` ascending frequencies.

    * ``'random80'``: 80 % of the points (rounded) held out uniformly at
      random among the interior ones; both band edges are always trained on,
      so every method interpolates.
    * ``'band20'``: a contiguous band of 20 % of the points centred in the
      frequency range is held out.

    Example:
      >>> train, held_out = split_indices(10, 'band20')
      >>> held_out.tolist()
      [4, 5]
      >>> len(split_indices(101, 'random80')[1])
      81
    """
    if kind not in SPLITS:
        raise ValueError(f"kind must be one of {SPLITS}; got {kind!r}.")
    if n < 5:
        raise ValueError(f"n must be >= 5 points; got {n}.")
    n_out = int(round(0.8 * n)) if kind == "random80" else int(round(0.2 * n))
    if kind == "random80":
        interior = np.arange(1, n - 1)
        held_out = np.random.default_rng(seed).choice(interior, min(n_out, n - 2), replace=False)
    else:
        start = (n - n_out) // 2
        held_out = np.arange(start, start + n_out)
    held_out = np.sort(held_out)
    return np.setdiff1d(np.arange(n), held_out), held_out
