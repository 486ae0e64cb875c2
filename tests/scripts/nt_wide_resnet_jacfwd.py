"""Forward-mode derivative of NT's kernel of a small WideResNet (NT's regression
test for its issue #123). Run as a script, in its own process: on some jaxlib
releases (0.8.3, 0.10.2 on CPU) this segfaults, which must fail a test rather than
kill the test run. Prints `ok <value>` on success."""

import jax

jax.config.update("jax_enable_x64", True)

import nt_complex  # noqa: E402,F401  (makes NT importable on current jax)
import jax.numpy as jnp  # noqa: E402
import neural_tangents as nt  # noqa: E402
from neural_tangents import stax  # noqa: E402


def wide_resnet_block(channels: int, strides: tuple, channel_mismatch: bool):
    main = stax.serial(stax.Relu(), stax.Conv(channels, (3, 3), strides, padding="SAME"),
                       stax.Relu(), stax.Conv(channels, (3, 3), padding="SAME"))
    shortcut = (stax.Identity() if not channel_mismatch
                else stax.Conv(channels, (3, 3), strides, padding="SAME"))
    return stax.serial(stax.FanOut(2), stax.parallel(main, shortcut), stax.FanInSum())


def main() -> None:
    _, _, kernel_fn = stax.serial(
        stax.Conv(16, (3, 3), padding="SAME", parameterization="standard"),
        wide_resnet_block(16, (1, 1), True),
        wide_resnet_block(32, (2, 2), True),
        wide_resnet_block(64, (2, 2), True),
        stax.AvgPool((8, 8), padding="SAME"), stax.Flatten(), stax.Dense(1))
    x = jnp.zeros((1, 8, 8, 3))
    f = jax.jit(lambda a, b: kernel_fn(a, b, "ntk")[0, 0])
    value = f(x, x)
    jax.value_and_grad(f)(x, x)
    tangent = jax.jacfwd(f)(x, x)
    assert jnp.all(jnp.isfinite(tangent)), "non-finite forward-mode derivative"
    print("ok", float(value), nt.__version__)


if __name__ == "__main__":
    main()
