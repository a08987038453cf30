"""Adam, AdamW and AMSGrad — one rule with two switches.

Adam: Kingma & Ba (2015), "Adam: A Method for Stochastic Optimization", ICLR, Algorithm 1.
AdamW: Loshchilov & Hutter (2019), "Decoupled Weight Decay Regularization", ICLR, Algorithm 2.
AMSGrad: Reddi, Kale & Kumar (2018), "On the Convergence of Adam and Beyond", ICLR, Algorithm 2
(with PyTorch's bias correction of the running maximum).
Numbers as torch.optim.Adam / AdamW / Adam(amsgrad=True): ε is added outside the square root of v̂.
``bias_correction=False`` drops both corrections (m̂ = m, v̂ = v), to show why they are there.
"""
from typing import NamedTuple

import numpy as np

from .base import Variant, with_rules

MOMENTS = r"""m_t &= \beta_1\, m_{t-1} + (1-\beta_1)\, g_t \\
v_t &= \beta_2\, v_{t-1} + (1-\beta_2)\, g_t^2 \\"""
CORRECT = r"""\hat m_t &= m_t / (1-\beta_1^t) \\
\hat v_t &= {v} / (1-\beta_2^t) \\"""
CORRECT_MAX = CORRECT.format(v=r"v^{\max}_t")
DEFAULTS = dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, bias_correction=True)
VARIANTS = {
    "adam": Variant("Adam", DEFAULTS, rf"""\begin{{aligned}}
g_t &= \nabla f(\theta_{{t-1}}) + \lambda\,\theta_{{t-1}} \\
{MOMENTS}
{CORRECT.format(v="v_t")}
\theta_t &= \theta_{{t-1}} - \alpha\, \hat m_t / \bigl(\sqrt{{\hat v_t}} + \varepsilon\bigr)
\end{{aligned}}""", "Kingma & Ba (2015)", dict(amsgrad=False, decoupled=False)),
    "adamw": Variant("AdamW", {**DEFAULTS, "weight_decay": 1e-2}, rf"""\begin{{aligned}}
g_t &= \nabla f(\theta_{{t-1}}) \\
{MOMENTS}
{CORRECT.format(v="v_t")}
\theta_t &= \theta_{{t-1}} - \alpha\,\lambda\,\theta_{{t-1}} - \alpha\, \hat m_t / \bigl(\sqrt{{\hat v_t}} + \varepsilon\bigr)
\end{{aligned}}""", "Loshchilov & Hutter (2019)", dict(amsgrad=False, decoupled=True)),
    "amsgrad": Variant("AMSGrad", DEFAULTS, rf"""\begin{{aligned}}
g_t &= \nabla f(\theta_{{t-1}}) + \lambda\,\theta_{{t-1}} \\
{MOMENTS}
v^{{\max}}_t &= \max\bigl(v^{{\max}}_{{t-1}},\, v_t\bigr) \\
{CORRECT_MAX}
\theta_t &= \theta_{{t-1}} - \alpha\, \hat m_t / \bigl(\sqrt{{\hat v_t}} + \varepsilon\bigr)
\end{{aligned}}""", "Reddi, Kale & Kumar (2018)", dict(amsgrad=True, decoupled=False)),
}
__doc__ = with_rules(__doc__, VARIANTS)


class State(NamedTuple):
    m: np.ndarray
    v: np.ndarray
    v_max: np.ndarray


def init(xy, h):
    z = np.zeros_like(xy)
    return State(z, z, z)


def update(g, state, s, h):
    if h.decoupled:
        decay = -s.lr * h.weight_decay * s.xy                       # AdamW: θ ← θ - α λ θ
    else:
        decay = 0.0
        g = g + h.weight_decay * s.xy                               # Adam: L2 penalty in the gradient
    m = h.beta1 * state.m + (1 - h.beta1) * g                       # m_t = β1 m + (1-β1) g
    v = h.beta2 * state.v + (1 - h.beta2) * g * g                   # v_t = β2 v + (1-β2) g²
    v_max = np.maximum(state.v_max, v) if h.amsgrad else state.v_max  # AMSGrad: running max of v
    v_used = v_max if h.amsgrad else v
    bc1 = 1 - h.beta1 ** s.t if h.bias_correction else 1.0          # 1 - β1^t
    bc2 = 1 - h.beta2 ** s.t if h.bias_correction else 1.0          # 1 - β2^t
    m_hat = m / bc1                                                 # m̂_t
    v_hat = v_used / bc2                                            # v̂_t
    denom = np.sqrt(v_used) / bc2 ** 0.5 + h.eps                    # √v̂_t + ε (PyTorch's rounding)
    delta = decay + (-(s.lr / bc1) * m) / denom                     # θ_t = θ - α m̂_t / (√v̂_t + ε)
    aux = dict(m=m, v=v, m_hat=m_hat, v_hat=v_hat, lr_eff=s.lr / (np.sqrt(v_hat) + h.eps))
    if h.amsgrad:
        aux["v_max"] = v_max
    return delta, State(m, v, v_max), aux
