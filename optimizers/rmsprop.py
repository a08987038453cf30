"""RMSprop — Tieleman & Hinton (2012), Lecture 6.5 of "Neural Networks for Machine Learning"; numbers as
torch.optim.RMSprop, whose smoothing constant alpha is called β₂ here, as in the seeds' formula.
``bias_correction=True`` (not in PyTorch, default off) divides v by 1 − β₂ᵗ, which makes RMSprop equal to
Adam with β₁ = 0."""
from typing import NamedTuple

import numpy as np

from .base import Variant, add_decay, is_zero, sqrt, with_rules, zeros

VARIANTS = {
    "rmsprop": Variant("RMSprop", dict(lr=1e-2, beta2=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                                       centered=False, bias_correction=False), r"""\begin{aligned}
g_t &= \nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1} \\
v_t &= \beta_2\, v_{t-1} + (1-\beta_2)\, g_t^2 \\
\hat v_t &= v_t / (1-\beta_2^t) \ \ \text{(with bias correction, else } \hat v_t = v_t) \\
\bar g_t &= \beta_2\, \bar g_{t-1} + (1-\beta_2)\, g_t \ \ \text{(centered only: } \hat v_t \leftarrow \hat v_t - \bar g_t^2) \\
b_t &= \mu\, b_{t-1} + g_t / \bigl(\sqrt{\hat v_t} + \varepsilon\bigr) \\
\theta_t &= \theta_{t-1} - \alpha\, b_t
\end{aligned}""", "Tieleman & Hinton (2012)"),
}
__doc__ = with_rules(__doc__, VARIANTS)


class State(NamedTuple):
    v: np.ndarray
    g_bar: np.ndarray
    b: np.ndarray


def init(xy, h):
    return State(zeros(xy), zeros(xy), zeros(xy))


def update(g, state, s, h):
    g = add_decay(g, s.xy, h.weight_decay)                          # g_t = ∇f + λθ (L2 penalty)
    v, g_bar, b = state                                             # updated in place
    v *= h.beta2; v += (1 - h.beta2) * g * g                        # v_t = β2 v + (1-β2) g²
    bc2 = 1 - h.beta2 ** s.t if h.bias_correction else 1.0
    v_hat = v / bc2 if h.bias_correction else v                     # v̂_t = v_t / (1-β2^t)
    if h.centered:
        g_bar *= h.beta2; g_bar += (1 - h.beta2) * g                # ḡ_t = β2 ḡ + (1-β2) g
        mean = g_bar / bc2
        v_hat = v_hat - mean * mean                                 # centred: subtract the mean²
    denom = sqrt(v_hat) + h.eps                                     # √v̂_t + ε
    if is_zero(h.momentum):
        delta = (-s.lr * g) / denom                                 # θ_t = θ - α g / (√v̂ + ε)
    else:
        b *= h.momentum; b += g / denom                             # b_t = μ b + g / (√v̂ + ε)
        delta = -s.lr * b                                           # θ_t = θ - α b_t
    return delta, State(v, g_bar, b), dict(v=v, v_hat=v_hat, lr_eff=s.lr / denom) if s.internals else {}
