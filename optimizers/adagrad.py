"""AdaGrad — Duchi, Hazan & Singer (2011), "Adaptive Subgradient Methods for Online Learning and
Stochastic Optimization", JMLR 12; numbers as torch.optim.Adagrad (ε outside the square root)."""
from typing import NamedTuple

import numpy as np

from .base import Variant, add_decay, sqrt, with_rules, zeros

VARIANTS = {
    "adagrad": Variant("AdaGrad", dict(lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                                       initial_accumulator_value=0.0, eps=1e-10), r"""\begin{aligned}
g_t &= \nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1} \\
\alpha_t &= \alpha / \bigl(1 + (t-1)\,\eta\bigr) \\
G_t &= G_{t-1} + g_t^2 \\
\theta_t &= \theta_{t-1} - \alpha_t\, g_t / \bigl(\sqrt{G_t} + \varepsilon\bigr)
\end{aligned}""", "Duchi, Hazan & Singer (2011)"),
}
__doc__ = with_rules(__doc__, VARIANTS)


class State(NamedTuple):
    G: np.ndarray


def init(xy, h):
    return State(zeros(xy) + h.initial_accumulator_value)


def update(g, state, s, h):
    g = add_decay(g, s.xy, h.weight_decay)             # g_t = ∇f + λθ (L2 penalty)
    clr = s.lr / (1 + (s.t - 1) * h.lr_decay)          # α_t = α / (1 + (t-1) η)
    G = state.G                                        # updated in place
    G += g * g                                         # G_t = G + g²
    denom = sqrt(G) + h.eps                            # √G_t + ε
    delta = (-clr * g) / denom                         # θ_t = θ - α_t g / (√G_t + ε)
    return delta, State(G), dict(v=G, lr_eff=clr / denom) if s.internals else {}
