"""`make bench`: run every `bench/bench_*.py` module's `run()` and print the tables.

Usage: `python -m bench.run [--quick] [names...]`.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import time

import jax

import bench


def main() -> None:
    """Run the selected benchmarks (default: all) and print Markdown tables."""
    jax.config.update("jax_enable_x64", True)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("names", nargs="*", help="e.g. core empirical phase")
    args = parser.parse_args()
    modules = sorted(m.name for m in pkgutil.iter_modules(bench.__path__)
                     if m.name.startswith("bench_"))
    for module_name in modules:
        short = module_name[len("bench_"):]
        if args.names and short not in args.names:
            continue
        start = time.perf_counter()
        table = importlib.import_module(f"bench.{module_name}").run(quick=args.quick)
        print(f"\n### {short} ({time.perf_counter() - start:.0f} s, x64, "
              f"{jax.device_count()} CPU device(s))\n\n{table}", flush=True)


if __name__ == "__main__":
    main()
