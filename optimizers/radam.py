"""RAdam — Liu et al. (2020), "On the Variance of the Adaptive Learning Rate and Beyond", ICLR,
Algorithm 2; numbers as torch.optim.RAdam (rectified when ρ_t > 5, otherwise un-adapted momentum)."""
from typing import NamedTuple

import numpy as np

from .base import Variant, add_decay, sqrt, where, with_rules, zeros

VARIANTS = {
    "radam": Variant("RAdam", dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0),
                     r"""\begin{aligned}
g_t &= \nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1} \\
m_t &= \beta_1\, m_{t-1} + (1-\beta_1)\, g_t, \quad \hat m_t = m_t / (1-\beta_1^t) \\
v_t &= \beta_2\, v_{t-1} + (1-\beta_2)\, g_t^2 \\
\rho_\infty &= 2/(1-\beta_2) - 1, \quad \rho_t = \rho_\infty - 2t\,\beta_2^t / (1-\beta_2^t) \\
r_t &= \sqrt{\frac{(\rho_t-4)(\rho_t-2)\,\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\,\rho_t}}, \quad
\ell_t = \frac{\sqrt{1-\beta_2^t}}{\sqrt{v_t} + \varepsilon} \\
\theta_t &= \theta_{t-1} - \alpha\, \hat m_t\, r_t\, \ell_t \ \text{ if } \rho_t > 5, \ \text{ else } \
\theta_t = \theta_{t-1} - \alpha\, \hat m_t
\end{aligned}""", "Liu et al. (2020)"),
}
__doc__ = with_rules(__doc__, VARIANTS)


class State(NamedTuple):
    m: np.ndarray
    v: np.ndarray


def init(xy, h):
    return State(zeros(xy), zeros(xy))


def update(g, state, s, h):
    g = add_decay(g, s.xy, h.weight_decay)                          # g_t = ∇f + λθ (L2 penalty)
    m, v = state                                                    # updated in place
    m *= h.beta1; m += (1 - h.beta1) * g                            # m_t = β1 m + (1-β1) g
    v *= h.beta2; v += (1 - h.beta2) * g * g                        # v_t = β2 v + (1-β2) g²
    bc1 = 1 - h.beta1 ** s.t                                        # 1 - β1^t
    bc2 = 1 - h.beta2 ** s.t                                        # 1 - β2^t
    m_hat = m / bc1                                                 # m̂_t
    rho_inf = 2 / (1 - h.beta2) - 1                                 # ρ_∞
    rho_t = rho_inf - 2 * s.t * (h.beta2 ** s.t) / bc2              # ρ_t
    use = rho_t > 5.0                                               # rectified only where ρ_t > 5
    if use is False:                                                # (a plain bool when all runs agree)
        delta = -(m_hat * s.lr)                                     # θ_t = θ - α m̂_t
        aux = dict(m=m, v=v, m_hat=m_hat, v_hat=v / bc2, lr_eff=s.lr) if s.internals else {}
        return delta, State(m, v), aux
    rect = where(use, sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                           / ((rho_inf - 4) * (rho_inf - 2) * rho_t)), 1.0)   # r_t
    ell = where(use, (bc2 ** 0.5) / (sqrt(v) + h.eps), 1.0)         # ℓ_t
    delta = -(m_hat * s.lr * ell * rect)                            # θ_t = θ - α m̂_t r_t ℓ_t
    return delta, State(m, v), dict(m=m, v=v, m_hat=m_hat, v_hat=v / bc2,
                                    lr_eff=s.lr * ell * rect) if s.internals else {}
