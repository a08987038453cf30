"""Newton's method with the exact (symbolic) Hessian, damped in Levenberg's sense: the step solves
(H + δI) Δ = −g. ``saddle_free=True`` replaces H by |H| (eigenvalues by their absolute values) as in
Dauphin et al. (2014), "Identifying and attacking the saddle point problem in high-dimensional
non-convex optimization", NeurIPS, so the step is repelled by saddles instead of drawn to them.
With α = 1 and δ = 0 it solves a quadratic in one step. Where H + δI is singular the step is not
finite and the run loop stops that run (marked diverged)."""
from typing import NamedTuple

import numpy as np

from .base import Variant, with_rules

VARIANTS = {
    "newton": Variant("Newton", dict(lr=1.0, damping=0.0, saddle_free=False), r"""\begin{aligned}
g_t &= \nabla f(\theta_{t-1}), \quad H_t = \nabla^2 f(\theta_{t-1}) \ \ (\text{saddle-free: } H_t \leftarrow |H_t|) \\
\theta_t &= \theta_{t-1} - \alpha\, \bigl(H_t + \delta I\bigr)^{-1} g_t
\end{aligned}""", "Newton–Raphson; Levenberg (1944) damping; Dauphin et al. (2014)"),
}
__doc__ = with_rules(__doc__, VARIANTS)
ELEMENTWISE = False          # the step mixes the coordinates: it runs on (K, 2) arrays only


class State(NamedTuple):
    pass


def init(xy, h):
    return State()


def _abs_eigen(H):
    w, V = np.linalg.eigh(H)
    return (V * np.abs(w)[..., None, :]) @ np.swapaxes(V, -1, -2)


def update(g, state, s, h):
    H = s.hessian(s.xy)                                             # H_t, exact
    if h.saddle_free:
        H = _abs_eigen(H)                                           # |H_t|
    damping = np.broadcast_to(h.damping, (len(g), 1))[:, 0]         # δ, one per run
    a = H[:, 0, 0] + damping                                        # H + δI, written out for 2×2
    d = H[:, 1, 1] + damping
    b, c = H[:, 0, 1], H[:, 1, 0]
    det = a * d - b * c
    step = np.stack([d * g[:, 0] - b * g[:, 1], a * g[:, 1] - c * g[:, 0]], axis=-1) / det[:, None]
    delta = -s.lr * step                                            # θ_t = θ - α (H + δI)⁻¹ g
    return delta, state, dict()
