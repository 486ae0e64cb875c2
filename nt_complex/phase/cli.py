"""`nt-complex phase-diagram`: draw the phase diagram of a one-layer block.

A block is `Dense(1024)` (or `Conv(1024, (3, 3))` with `--conv H W`) followed
by the chosen activation, from `nt.stax` (real `erf`, `relu`) or
`nt_complex.stax` (complex `crelu`, `split-erf`, `modrelu`, `cardioid`, `zrelu`,
`exp`). modReLU diagrams also show the saddle-node line (no finite q* beyond).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["ACTIVATIONS", "add_phase_diagram_command", "make_block", "run_phase_diagram"]

#: Activation name -> (is_complex, name of the layer in nt.stax / nt_complex.stax).
ACTIVATIONS: dict[str, tuple[bool, str]] = {
    "erf": (False, "Erf"),
    "relu": (False, "Relu"),
    "crelu": (True, "CReLU"),
    "split-erf": (True, "SplitErf"),
    "modrelu": (True, "ModReLU"),
    "cardioid": (True, "Cardioid"),
    "zrelu": (True, "ZReLU"),
    "exp": (True, "Exp"),
}


def make_block(activation: str, conv_shape: tuple[int, int] | None = None,
               padding: str = "SAME", modrelu_b: float = -0.5,
               width: int = 1024) -> Callable[[Any, Any], tuple]:
    """`block(W_std, b_std)`: a Dense (or 3x3 Conv) layer then `activation`.

    Example:
      >>> block = make_block("relu")
      >>> len(block(1.0, 0.1))
      3
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation: expected one of {sorted(ACTIVATIONS)}, "
                         f"got {activation!r}.")
    is_complex, layer_name = ACTIVATIONS[activation]
    if is_complex:
        import nt_complex.stax as lib
    else:
        from neural_tangents import stax as lib
    layer = getattr(lib, layer_name, None)
    if layer is None:
        raise ValueError(f"activation {activation!r}: nt_complex.stax.{layer_name} is not "
                         f"available in this version of nt_complex.")
    if padding not in ("SAME", "VALID", "CIRCULAR"):
        raise ValueError(f"padding: expected SAME, VALID or CIRCULAR, got {padding!r}.")

    def nonlinearity():
        return layer(modrelu_b) if activation == "modrelu" else layer()

    def block(W_std, b_std):
        if conv_shape is None:
            linear = lib.Dense(width, W_std, b_std)
        else:
            linear = lib.Conv(width, (3, 3), padding=padding, W_std=W_std, b_std=b_std)
        return lib.serial(linear, nonlinearity())

    return block


def add_phase_diagram_command(subparsers: Any) -> argparse.ArgumentParser:
    """Register `phase-diagram` on an argparse `subparsers` object.

    Example:
      >>> parser = argparse.ArgumentParser()
      >>> _ = add_phase_diagram_command(parser.add_subparsers(dest="command"))
      >>> parser.parse_args(["phase-diagram", "--out", "p.png"]).grid
      [60, 40]
    """
    parser = subparsers.add_parser(
        "phase-diagram", help="draw the (sigma_w^2, sigma_b^2) phase diagram of a block",
        description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--activation", choices=sorted(ACTIVATIONS), default="erf")
    parser.add_argument("--modrelu-b", type=float, default=-0.5,
                        help="bias b of modReLU (|z| + b)_+ z/|z|")
    parser.add_argument("--conv", type=int, nargs=2, metavar=("H", "W"), default=None,
                        help="use a 3x3 Conv layer on H x W inputs instead of Dense")
    parser.add_argument("--padding", choices=["SAME", "VALID", "CIRCULAR"], default="SAME",
                        help="Conv padding (with --conv)")
    parser.add_argument("--families", action="store_true",
                        help="mark the jax.nn.initializers families (measured sigma_w^2)")
    parser.add_argument("--W-var-max", type=float, default=3.0, dest="W_var_max")
    parser.add_argument("--b-var-max", type=float, default=0.25, dest="b_var_max")
    parser.add_argument("--grid", type=int, nargs=2, metavar=("M", "N"), default=[60, 40],
                        help="M points in sigma_w^2, N points in sigma_b^2")
    parser.add_argument("--c-star", action=argparse.BooleanOptionalAction, default=True,
                        dest="c_star",
                        help="compute c* and colour the map by it (default; --no-c-star "
                             "colours it by chi_1 and skips the c iteration)")
    parser.add_argument("--out", required=True, help="output image, e.g. phase.png")
    parser.set_defaults(func=run_phase_diagram)
    return parser


def _check_args(args: argparse.Namespace) -> None:
    m, n = args.grid
    if m < 2 or n < 2:
        raise SystemExit(f"--grid: expected M >= 2 and N >= 2, got {m} {n}.")
    if not (args.W_var_max > 0 and args.b_var_max > 0):
        raise SystemExit("--W-var-max and --b-var-max must be positive.")
    if args.conv is not None and min(args.conv) < 1:
        raise SystemExit(f"--conv: expected positive H W, got {args.conv}.")


def run_phase_diagram(args: argparse.Namespace) -> int:
    """Compute and save the phase diagram described by `args`; return 0.

    Example:
      >>> import tempfile, os
      >>> parser = argparse.ArgumentParser()
      >>> _ = add_phase_diagram_command(parser.add_subparsers(dest="command"))
      >>> out = os.path.join(tempfile.mkdtemp(), "p.png")
      >>> args = parser.parse_args(["phase-diagram", "--grid", "4", "3", "--out", out])
      >>> run_phase_diagram(args)  # doctest: +SKIP
      0
    """
    import jax

    jax.config.update("jax_enable_x64", True)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from tqdm import tqdm

    from nt_complex.phase import phase_diagram
    from nt_complex.phase.plot import crosses_one

    _check_args(args)
    try:
        block = make_block(args.activation, None if args.conv is None else tuple(args.conv),
                           args.padding, args.modrelu_b)
    except ValueError as err:
        raise SystemExit(str(err)) from None
    m, n = args.grid
    W_var = np.linspace(args.W_var_max / m, args.W_var_max, m)
    b_var = np.linspace(0.0, args.b_var_max, n)
    input_shape = None if args.conv is None else tuple(args.conv)
    # modReLU's c iteration evaluates its kernel at |rho| < 1, whose near-1
    # quadrature is paid by every entry under vmap: small chunks bound the memory
    # (60 x 40 with c*: 22 s, 0.64 GB).
    with_c = args.c_star
    chunk_size = 16 if args.activation == "modrelu" and with_c else 8192
    with tqdm(total=m * n, desc="phase diagram", unit="pt") as bar:
        pd = phase_diagram(block, W_var, b_var, input_shape=input_shape,
                           chunk_size=chunk_size, progress=bar.update, correlation=with_c)
    fams = []
    if args.families:
        from nt_complex.initializers import families
        dtype = np.complex128 if pd.is_complex else np.float64
        # jax's defaults (lecun/glorot/he_normal are truncated normals) and orthogonal:
        # the other distributions sit at the same sigma_w^2.
        fams = [f for f in families(256, 256, dtype=dtype)
                if (f.name.endswith("truncated_normal") or f.name == "orthogonal")
                and f.W_var <= args.W_var_max]
    where = "" if args.conv is None else f", Conv 3x3 {args.padding} on {args.conv[0]}x{args.conv[1]}"
    ncols = 2 if pd.is_complex else 1
    fig, axes = plt.subplots(1, ncols, figsize=(6.5 * ncols, 4.8), squeeze=False)
    saddle = None
    if args.activation == "modrelu" and args.conv is None:
        from nt_complex.phase import saddle_node_line
        saddle = saddle_node_line(block, np.geomspace(1e-3, 1e3, 400))
    shown = "c_star" if with_c else "chi_1"
    pd.plot(ax=axes[0, 0], families=fams, saddle_node=saddle, color=shown,
            title=f"{args.activation}{where}: " + ("$c^*$" if with_c else r"$\chi_1$"))
    if pd.is_complex:
        ax = axes[0, 1]
        mesh = ax.pcolormesh(W_var, b_var, np.ma.masked_invalid(pd.chi_phase),
                             shading="auto", cmap="magma")
        fig.colorbar(mesh, ax=ax, label=r"$\chi_{phase}$")
        if crosses_one(pd.chi_phase):
            ax.contour(W_var, b_var, np.where(np.isposinf(pd.chi_phase), 1e6, pd.chi_phase),
                       levels=[1.0], colors="w")
        ax.set_xlabel(r"$\sigma_w^2$")
        ax.set_ylabel(r"$\sigma_b^2$")
        ax.set_title(r"$\chi_{phase}$ (white: $\chi_{phase} = 1$ where it exists)")
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    plt.close(fig)
    print(f"wrote {args.out}")
    return 0
