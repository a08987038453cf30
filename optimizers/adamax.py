"""Adamax — Kingma & Ba (2015), "Adam: A Method for Stochastic Optimization", Section 7.1, Algorithm 2
(the infinity-norm variant of Adam); numbers as torch.optim.Adamax (ε inside the max)."""
from typing import NamedTuple

import numpy as np

from .base import Variant, add_decay, maximum, with_rules, zeros

VARIANTS = {
    "adamax": Variant("Adamax", dict(lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
                                     bias_correction=True), r"""\begin{aligned}
g_t &= \nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1} \\
m_t &= \beta_1\, m_{t-1} + (1-\beta_1)\, g_t \\
u_t &= \max\bigl(\beta_2\, u_{t-1},\ |g_t| + \varepsilon\bigr) \\
\hat m_t &= m_t / (1-\beta_1^t) \\
\theta_t &= \theta_{t-1} - \alpha\, \hat m_t / u_t
\end{aligned}""", "Kingma & Ba (2015), Algorithm 2"),
}
__doc__ = with_rules(__doc__, VARIANTS)


class State(NamedTuple):
    m: np.ndarray
    u: np.ndarray


def init(xy, h):
    return State(zeros(xy), zeros(xy))


def update(g, state, s, h):
    g = add_decay(g, s.xy, h.weight_decay)                          # g_t = ∇f + λθ (L2 penalty)
    m, u = state                                                    # m is updated in place
    m *= h.beta1; m += (1 - h.beta1) * g                            # m_t = β1 m + (1-β1) g
    u = maximum(h.beta2 * u, abs(g) + h.eps)                        # u_t = max(β2 u, |g| + ε)
    bc1 = 1 - h.beta1 ** s.t if h.bias_correction else 1.0          # 1 - β1^t
    delta = (-(s.lr / bc1) * m) / u                                 # θ_t = θ - α m̂_t / u_t
    return delta, State(m, u), dict(m=m, u=u, m_hat=m / bc1, lr_eff=s.lr / u) if s.internals else {}
