"""`nt-complex` command line: `demo` regenerates the figures; `phase-diagram`
draws a phase diagram (see `nt-complex phase-diagram --help`)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time

from nt_complex.phase.cli import add_phase_diagram_command


def run_demo(out_dir: str, quick: bool) -> list[str]:
    """Run every figure generator listed in `nt_complex.demos.DEMOS`.

    Example:
      >>> import tempfile
      >>> paths = run_demo(tempfile.mkdtemp(), quick=True)  # doctest: +SKIP
    """
    import jax

    jax.config.update("jax_enable_x64", True)
    from nt_complex.demos import DEMOS

    written = []
    for name in DEMOS:
        start = time.perf_counter()
        module = importlib.import_module(f"nt_complex.demos.{name}")
        paths = module.make_figures(out_dir, quick=quick)
        written += paths
        print(f"[demo] {name}: {len(paths)} figure(s) in {time.perf_counter() - start:.1f} s",
              flush=True)
    return written


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `nt-complex` command."""
    parser = argparse.ArgumentParser(prog="nt-complex", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="regenerate all figures")
    demo.add_argument("--out", default="figures", help="output folder")
    demo.add_argument("--quick", action="store_true", help="small, fast versions")
    add_phase_diagram_command(sub)
    args = parser.parse_args(argv)
    if args.command == "demo":
        paths = run_demo(args.out, args.quick)
        print("\n".join(os.path.relpath(p) for p in paths))
        return 0
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
