"""Gradient descent, heavy-ball momentum and Nesterov momentum, as torch.optim.SGD defines them.

Polyak (1964), "Some methods of speeding up the convergence of iteration methods"; Nesterov (1983);
the momentum form is Sutskever et al. (2013), "On the importance of initialization and momentum in
deep learning", in PyTorch's convention: the buffer starts as the first gradient, b_1 = g_1.
"""
from typing import NamedTuple

import numpy as np

from .base import Variant, add_decay, copy, is_zero, with_rules, zeros

DECAY = r"g_t &= \nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1} \\"
PAPER_M = "Polyak (1964); PyTorch's SGD(momentum)"
VARIANTS = {
    "sgd": Variant("SGD", dict(lr=1e-3, weight_decay=0.0), rf"""\begin{{aligned}}
{DECAY}
\theta_t &= \theta_{{t-1}} - \alpha\, g_t
\end{{aligned}}""", "Robbins & Monro (1951)", dict(momentum=0.0, dampening=0.0, nesterov=False)),
    "momentum": Variant("Momentum", dict(lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0),
                        rf"""\begin{{aligned}}
{DECAY}
b_t &= \mu\, b_{{t-1}} + (1-\tau)\, g_t \quad (b_1 = g_1) \\
\theta_t &= \theta_{{t-1}} - \alpha\, b_t
\end{{aligned}}""", PAPER_M, dict(nesterov=False)),
    "nesterov": Variant("Nesterov", dict(lr=1e-3, momentum=0.9, weight_decay=0.0), rf"""\begin{{aligned}}
{DECAY}
b_t &= \mu\, b_{{t-1}} + g_t \quad (b_1 = g_1) \\
\theta_t &= \theta_{{t-1}} - \alpha\,(g_t + \mu\, b_t)
\end{{aligned}}""", "Nesterov (1983); Sutskever et al. (2013); PyTorch's SGD(nesterov=True)",
                        dict(dampening=0.0, nesterov=True)),
}
__doc__ = with_rules(__doc__, VARIANTS)


class State(NamedTuple):
    b: np.ndarray


def init(xy, h):
    return State(zeros(xy))


def update(g, state, s, h):
    g = add_decay(g, s.xy, h.weight_decay)                         # g_t = ∇f + λθ (L2 penalty)
    if is_zero(h.momentum):
        return -s.lr * g, state, dict(lr_eff=s.lr) if s.internals else {}   # θ_t = θ - α g
    b = state.b                                                    # updated in place
    if s.t == 1:
        b = copy(g)                                                # b_1 = g_1
    else:
        b *= h.momentum; b += (1 - h.dampening) * g                # b_t = μ b + (1-τ) g
    d = g + h.momentum * b if h.nesterov else b                    # Nesterov looks ahead along b
    return -s.lr * d, State(b), dict(m=b, lr_eff=s.lr) if s.internals else {}   # θ_t = θ - α d
