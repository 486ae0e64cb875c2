"""Complex GP inference and infinite-width training dynamics (`docs/predict.md`).

* `gp_inference` — NNGP / NTK posterior, widely linear when pseudo-kernels are
  non-zero, Hermitian otherwise.
* `gradient_descent_mse` — closed-form outputs at time t of gradient flow on
  MSE over real parameters, with the pseudo-NTK term.
* `gradient_descent_mse_ensemble` — mean and covariance over initialisations.
"""

from nt_complex.predict.dynamics import gradient_descent_mse, gradient_descent_mse_ensemble
from nt_complex.predict.gp import ComplexGaussian, gp_inference

__all__ = ["ComplexGaussian", "gp_inference", "gradient_descent_mse",
           "gradient_descent_mse_ensemble"]
