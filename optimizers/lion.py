"""Lion — Chen et al. (2023), "Symbolic Discovery of Optimization Algorithms", NeurIPS, Algorithm 2:
the update is the sign of an interpolation between the momentum and the fresh gradient, so every
coordinate moves by exactly α (plus decoupled weight decay)."""
from typing import NamedTuple

import numpy as np

from .base import Variant, add_decay, sign, with_rules, zeros

VARIANTS = {
    "lion": Variant("Lion", dict(lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0), r"""\begin{aligned}
c_t &= \beta_1\, m_{t-1} + (1-\beta_1)\, g_t \\
\theta_t &= \theta_{t-1} - \alpha\,\bigl(\operatorname{sign}(c_t) + \lambda\,\theta_{t-1}\bigr) \\
m_t &= \beta_2\, m_{t-1} + (1-\beta_2)\, g_t
\end{aligned}""", "Chen et al. (2023)"),
}
__doc__ = with_rules(__doc__, VARIANTS)


class State(NamedTuple):
    m: np.ndarray


def init(xy, h):
    return State(zeros(xy))


def update(g, state, s, h):
    m = state.m                                                     # updated in place
    c = h.beta1 * m + (1 - h.beta1) * g                             # c_t = β1 m + (1-β1) g
    delta = -s.lr * add_decay(sign(c), s.xy, h.weight_decay)        # θ_t = θ - α (sign c_t + λ θ)
    m *= h.beta2; m += (1 - h.beta2) * g                            # m_t = β2 m + (1-β2) g
    return delta, State(m), dict(m=m, c=c, lr_eff=s.lr) if s.internals else {}
