"""Benchmark: the running stack itself — what a user pays before any kernel.

For the interpreter that runs it (`.venv`: default stack; run it with
`.venv-legacy/bin/python -m bench.run stack` for the legacy one): jax version,
size of the environment, `import nt_complex` wall time (fresh process, best of
5), whether TensorFlow got imported, and how many lines `nt-complex --help`
prints to stderr (TensorFlow's start-up chatter lands there).

`run(quick=False) -> str` returns a Markdown table.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import time

import jax

_IMPORT = ("import sys, nt_complex\n"
           "print(any(m.split('.')[0] == 'tensorflow' for m in sys.modules))")


def _folder_megabytes(path: str) -> float:
    total = 0
    for root, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files
                     if not os.path.islink(os.path.join(root, f)))
    return total / 2**20


def _import_seconds(repeats: int) -> tuple[float, bool]:
    best, tensorflow = float("inf"), False
    for _ in range(repeats):
        start = time.perf_counter()
        run = subprocess.run([sys.executable, "-c", _IMPORT], capture_output=True, text=True,
                             check=True)
        best = min(best, time.perf_counter() - start)
        tensorflow = run.stdout.strip() == "True"
    return best, tensorflow


def run(quick: bool = False) -> str:
    """Measure the running stack; return a one-row Markdown table.

    Example:
      >>> table = run(quick=True)  # doctest: +SKIP
    """
    seconds, tensorflow = _import_seconds(2 if quick else 5)
    help_run = subprocess.run([sys.executable, "-m", "nt_complex.cli", "--help"],
                              capture_output=True, text=True, check=True,
                              env={k: v for k, v in os.environ.items()
                                   if k != "TF_CPP_MIN_LOG_LEVEL"})
    site_packages = sysconfig.get_paths()["purelib"]
    return "\n".join([
        "| jax | site-packages (MB) | `import nt_complex` (s) | TensorFlow imported | "
        "stderr lines of `nt-complex --help` |",
        "|---|---|---|---|---|",
        f"| {jax.__version__} | {_folder_megabytes(site_packages):.0f} | {seconds:.2f} | "
        f"{'yes' if tensorflow else 'no'} | {len(help_run.stderr.splitlines())} |"])
