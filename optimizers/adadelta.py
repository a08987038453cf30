"""Adadelta — Zeiler (2012), "ADADELTA: An Adaptive Learning Rate Method", Algorithm 1; numbers as
torch.optim.Adadelta (which also multiplies the step by a learning rate α, default 1)."""
from typing import NamedTuple

import numpy as np

from .base import Variant, add_decay, sqrt, with_rules, zeros

VARIANTS = {
    "adadelta": Variant("Adadelta", dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0), r"""\begin{aligned}
g_t &= \nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1} \\
v_t &= \rho\, v_{t-1} + (1-\rho)\, g_t^2 \\
\Delta_t &= \frac{\sqrt{u_{t-1} + \varepsilon}}{\sqrt{v_t + \varepsilon}}\, g_t \\
u_t &= \rho\, u_{t-1} + (1-\rho)\, \Delta_t^2 \\
\theta_t &= \theta_{t-1} - \alpha\, \Delta_t
\end{aligned}""", "Zeiler (2012)"),
}
__doc__ = with_rules(__doc__, VARIANTS)


class State(NamedTuple):
    v: np.ndarray
    u: np.ndarray


def init(xy, h):
    return State(zeros(xy), zeros(xy))


def update(g, state, s, h):
    g = add_decay(g, s.xy, h.weight_decay)                          # g_t = ∇f + λθ (L2 penalty)
    v, u = state                                                    # updated in place
    v *= h.rho; v += (1 - h.rho) * g * g                            # v_t = ρ v + (1-ρ) g²
    rate = sqrt(u + h.eps) / sqrt(v + h.eps)                        # √(u + ε) / √(v_t + ε)
    step = rate * g                                                 # Δ_t
    u *= h.rho; u += (1 - h.rho) * step * step                      # u_t = ρ u + (1-ρ) Δ²
    delta = -s.lr * step                                            # θ_t = θ - α Δ_t
    return delta, State(v, u), dict(v=v, u=u, lr_eff=s.lr * rate) if s.internals else {}
