"""Figure generators run by `make demo` (`nt-complex demo`).

Each module exposes `make_figures(out_dir: str, quick: bool = False) -> list[str]`.
"""

#: Modules run by `nt-complex demo`, in order.
DEMOS = (
    "quickstart",
    "activations",
    "modrelu",
    "empirical",
    "phase",
    "initializers",
    "regression",
    "measured",
)
