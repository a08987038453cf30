"""NAdam — Dozat (2016), "Incorporating Nesterov Momentum into Adam", ICLR workshop; numbers as
torch.optim.NAdam, including its momentum schedule μ_t = β₁(1 − ½·0.96^{tψ}) (ψ = momentum_decay)."""
from typing import NamedTuple

import numpy as np

from .base import Variant, add_decay, f32, per_run, sqrt, with_rules, zeros

VARIANTS = {
    "nadam": Variant("NAdam", dict(lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
                                   momentum_decay=4e-3), r"""\begin{aligned}
g_t &= \nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1} \\
\mu_t &= \beta_1 \bigl(1 - \tfrac12\, 0.96^{t\psi}\bigr), \quad \mu_{t+1} = \beta_1 \bigl(1 - \tfrac12\, 0.96^{(t+1)\psi}\bigr) \\
m_t &= \beta_1\, m_{t-1} + (1-\beta_1)\, g_t \\
v_t &= \beta_2\, v_{t-1} + (1-\beta_2)\, g_t^2 \\
\hat v_t &= v_t / (1-\beta_2^t) \\
\hat m_t &= \frac{\mu_{t+1}\, m_t}{1 - \prod_{i=1}^{t+1}\mu_i} + \frac{(1-\mu_t)\, g_t}{1 - \prod_{i=1}^{t}\mu_i} \\
\theta_t &= \theta_{t-1} - \alpha\, \hat m_t / \bigl(\sqrt{\hat v_t} + \varepsilon\bigr)
\end{aligned}""", "Dozat (2016)"),
}
__doc__ = with_rules(__doc__, VARIANTS)


class State(NamedTuple):
    m: np.ndarray
    v: np.ndarray
    mu_product: float | np.ndarray          # one per run (K, 1) only when μ differs between runs


def init(xy, h):
    return State(zeros(xy), zeros(xy), per_run(xy, 1.0, h.beta1, h.momentum_decay))


def update(g, state, s, h):
    g = add_decay(g, s.xy, h.weight_decay)                          # g_t = ∇f + λθ (L2 penalty)
    m, v, _ = state                                                 # m, v are updated in place
    mu = h.beta1 * (1.0 - 0.5 * (0.96 ** (s.t * h.momentum_decay)))        # μ_t
    mu_next = h.beta1 * (1.0 - 0.5 * (0.96 ** ((s.t + 1) * h.momentum_decay)))  # μ_{t+1}
    # Π_{i≤t} μ_i. PyTorch keeps this product in a float32 scalar (its default scalar dtype); rounding it
    # the same way keeps our trajectories equal to torch.optim.NAdam's to the last digits.
    prod = f32(state.mu_product * f32(mu))
    m *= h.beta1; m += (1 - h.beta1) * g                            # m_t = β1 m + (1-β1) g
    v *= h.beta2; v += (1 - h.beta2) * g * g                        # v_t = β2 v + (1-β2) g²
    bc2 = 1 - h.beta2 ** s.t                                        # 1 - β2^t, v̂_t = v_t / (1-β2^t)
    # θ_t = θ - α m̂_t / (√v̂_t + ε), written with √v̂_t + ε = (√v_t + ε √(1-β2^t)) / √(1-β2^t):
    c2 = bc2 ** 0.5                                                 # √(1-β2^t)
    c_g = -s.lr * c2 * (1.0 - mu) / (1.0 - prod)                    # weight of the fresh gradient
    c_m = -s.lr * c2 * mu_next / (1.0 - prod * mu_next)             # weight of the momentum
    delta = c_g * g + c_m * m                                       # -α √(1-β2^t) m̂_t …
    delta /= sqrt(v) + h.eps * c2                                   # … / (√v_t + ε √(1-β2^t))
    if not s.internals:
        return delta, State(m, v, prod), {}
    v_hat = v / bc2                                                 # v̂_t
    m_hat = (1.0 - mu) / (1.0 - prod) * g + mu_next / (1.0 - prod * mu_next) * m  # m̂_t
    aux = dict(m=m, v=v, m_hat=m_hat, v_hat=v_hat, lr_eff=s.lr / (sqrt(v_hat) + h.eps))
    return delta, State(m, v, prod), aux
