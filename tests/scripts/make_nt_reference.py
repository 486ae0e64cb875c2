"""Write tests/data/nt_reference_kernels.npz: Neural Tangents' own kernels, computed
on the legacy stack (jax 0.5.3 + NT 0.6.5 with its declared requirements), for
tests/test_nt_unchanged.py to compare the default stack against.

    make setup-legacy && .venv-legacy/bin/python tests/scripts/make_nt_reference.py
"""

import os
import sys

import jax

jax.config.update("jax_enable_x64", True)

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
import nt_reference_networks  # noqa: E402  (tests/nt_reference_networks.py)


def main() -> None:
    import numpy as np
    table = nt_reference_networks.compute_table()
    table["jax_version"] = np.array(jax.__version__)
    path = os.path.join(os.path.dirname(__file__), "..", "data", "nt_reference_kernels.npz")
    np.savez_compressed(path, **table)
    print(f"wrote {len(table) - 1} kernels on jax {jax.__version__} to {os.path.normpath(path)}")


if __name__ == "__main__":
    main()
