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

from .base import Variant, add_decay, maximum, sqrt, with_rules, zeros

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
    v_max: np.ndarray | float              # AMSGrad only


def init(xy, h):
    return State(zeros(xy), zeros(xy), zeros(xy) if h.amsgrad else 0.0)


def update(g, state, s, h):
    m, v, v_max = state                                             # updated in place
    if not h.decoupled:
        g = add_decay(g, s.xy, h.weight_decay)                      # Adam: g_t = ∇f + λθ (L2 penalty)
    m *= h.beta1; m += (1 - h.beta1) * g                            # m_t = β1 m + (1-β1) g
    v *= h.beta2; v += (1 - h.beta2) * g * g                        # v_t = β2 v + (1-β2) g²
    if h.amsgrad:
        v_max = maximum(v_max, v)                                   # AMSGrad: running max of v
    v_used = v_max if h.amsgrad else v
    bc1 = 1 - h.beta1 ** s.t if h.bias_correction else 1.0          # 1 - β1^t
    bc2 = 1 - h.beta2 ** s.t if h.bias_correction else 1.0          # 1 - β2^t
    # θ_t = θ - α m̂_t / (√v̂_t + ε), in the paper's efficient order (Kingma & Ba, §2):
    c2 = bc2 ** 0.5                                                 # √(1-β2^t)
    delta = -(s.lr * c2 / bc1) * m                                  # α_t m_t, α_t = α √(1-β2^t) / (1-β1^t)
    delta /= sqrt(v_used) + h.eps * c2                              # … / (√v_t + ε √(1-β2^t))
    if h.decoupled:
        delta = -s.lr * h.weight_decay * s.xy + delta               # AdamW: … - α λ θ
    if not s.internals:
        return delta, State(m, v, v_max), {}
    v_hat = v_used / bc2                                            # v̂_t
    aux = dict(m=m, v=v, m_hat=m / bc1, v_hat=v_hat, lr_eff=s.lr / (sqrt(v_hat) + h.eps))
    if h.amsgrad:
        aux["v_max"] = v_max
    return delta, State(m, v, v_max), aux
