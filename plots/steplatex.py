r"""One optimizer step written out with its numbers: ``step_latex(run, t)``.

The text follows each family's update rule as ``optimizers.variant(name).latex`` writes it (same
symbols: ``b`` for the momentum buffer, ``G`` for AdaGrad's sum, ``u`` for Adadelta's and Adamax's second
accumulator …), with step t's values substituted, for KaTeX (Streamlit's ``st.latex``): one
``\begin{aligned}`` block, ASCII only, vectors written (x, y) to 4 significant digits.

Values come from the run: internals index t−1 is step t (the previous step's m, v … from index t−2,
zeros — or AdaGrad's G₀ — at t = 1), θ_{t−1} and θ_t from the path. ``internals["grad"]`` is the
observed gradient (noise included) before any L2 term, which the text adds. The learning rate shown is
the one step t used: when a schedule changed it, it is recovered from the recorded effective rate and
written α_t.
"""
from __future__ import annotations

import math

import numpy as np

from .data import RunView, check_run, check_step

NEEDS = ("grad", "update")


def num(v: float) -> str:
    """A number to 4 significant digits in LaTeX: 1.234\\times 10^{-5} for small or large ones."""
    v = float(v)
    if math.isnan(v):
        return r"\mathrm{NaN}"
    if math.isinf(v):
        return r"\infty" if v > 0 else r"-\infty"
    s = f"{v:.4g}"
    if s in ("0", "-0"):
        return "0"
    if "e" in s:
        mant, exp = s.split("e")
        body = rf"10^{{{int(exp)}}}" if mant in ("1", "-1") else rf"{mant}\times 10^{{{int(exp)}}}"
        return ("-" + body) if mant == "-1" else body
    return s


def vec(v) -> str:
    """A 2-vector as (x,\\ y)."""
    return rf"\left({num(v[0])},\ {num(v[1])}\right)"


class _Step:
    """The numbers of one step of one start."""

    def __init__(self, run: RunView, t: int, i: int):
        self.run, self.t, self.i = run, t, i
        self.theta_prev = run.path[i, t - 1]
        self.theta = run.path[i, t]
        self.grad = run.internals["grad"][i, t - 1]
        self.update = run.internals["update"][i, t - 1]

    def h(self, key, default=0.0):
        v = self.run.hyper_value(key, self.i, default)
        return default if v is None else v

    def cur(self, key) -> np.ndarray:
        return self.run.internals[key][self.i, self.t - 1]

    def prev(self, key, initial=0.0) -> np.ndarray:
        if self.t == 1:
            return np.full(2, float(initial))
        return self.run.internals[key][self.i, self.t - 2]

    def has(self, key) -> bool:
        return key in self.run.internals


def _gradient(s: _Step, l2: bool) -> tuple[str, np.ndarray]:
    """The g_t line (with the L2 term where the family adds it to the gradient) and g_t itself."""
    lam = float(s.h("weight_decay"))
    if l2 and lam != 0.0:
        g = s.grad + lam * s.theta_prev
        line = (rf"g_t &= \nabla f(\theta_{{t-1}}) + \lambda\,\theta_{{t-1}} = {vec(s.grad)} + "
                rf"{num(lam)}\cdot{vec(s.theta_prev)} = {vec(g)}")
        return line, g
    return rf"g_t &= \nabla f(\theta_{{t-1}}) = {vec(s.grad)}", s.grad


def _alpha(s: _Step, base_rate) -> tuple[str, float, list[str]]:
    """(symbol, value, extra lines): α, or α_t when a schedule changed it at this step.

    ``base_rate`` is a function from the recorded effective rate to the α it implies (None: not
    recoverable, use the hyperparameter)."""
    alpha = float(s.h("lr", 0.0))
    if base_rate is not None and s.has("lr_eff"):
        with np.errstate(all="ignore"):
            a_t = float(base_rate(s.cur("lr_eff")[0]))
        if math.isfinite(a_t) and a_t > 0 and abs(a_t / alpha - 1) > 1e-9:
            return r"\alpha_t", a_t, [rf"\alpha_t &= {num(a_t)} \quad \text{{(scheduled; }} \alpha = {num(alpha)}\text{{)}}"]
    return r"\alpha", alpha, []


def _ema(lhs, sym_prev, beta_sym, beta, prev, new, x_sym, x) -> str:
    """lhs = β prev + (1 − β) x with numbers."""
    return (rf"{lhs} &= {beta_sym}\, {sym_prev} + (1-{beta_sym})\, {x_sym} = {num(beta)}\cdot{vec(prev)} + "
            rf"{num(1 - beta)}\cdot{vec(x)} = {vec(new)}")


def _sgd(s: _Step) -> list[str]:
    g_line, g = _gradient(s, True)
    A, a, lines = _alpha(s, lambda lr: lr)
    lines = [g_line] + lines
    name = s.run.name
    if name == "sgd":
        return lines + [rf"\Delta\theta_t &= -{A}\, g_t = -{num(a)}\cdot{vec(g)} = {vec(s.update)}"]
    mu = float(s.h("momentum", 0.9))
    b = s.cur("m")
    if s.t == 1:
        lines.append(rf"b_t &= g_t = {vec(b)} \quad (b_1 = g_1)")
    elif name == "momentum":
        tau = float(s.h("dampening", 0.0))
        lines.append(rf"b_t &= \mu\, b_{{t-1}} + (1-\tau)\, g_t = {num(mu)}\cdot{vec(s.prev('m'))} + "
                     rf"{num(1 - tau)}\cdot{vec(g)} = {vec(b)}")
    else:
        lines.append(rf"b_t &= \mu\, b_{{t-1}} + g_t = {num(mu)}\cdot{vec(s.prev('m'))} + {vec(g)} = {vec(b)}")
    if name == "nesterov":
        lines.append(rf"\Delta\theta_t &= -{A}\,(g_t + \mu\, b_t) = -{num(a)}\cdot\bigl({vec(g)} + "
                     rf"{num(mu)}\cdot{vec(b)}\bigr) = {vec(s.update)}")
    else:
        lines.append(rf"\Delta\theta_t &= -{A}\, b_t = -{num(a)}\cdot{vec(b)} = {vec(s.update)}")
    return lines


def _adagrad(s: _Step) -> list[str]:
    g_line, g = _gradient(s, True)
    eta, eps = float(s.h("lr_decay")), float(s.h("eps", 1e-10))
    G, G0 = s.cur("v"), s.prev("v", s.h("initial_accumulator_value"))
    decay = 1 + (s.t - 1) * eta
    A, a, lines = _alpha(s, lambda lr: lr * (math.sqrt(G[0]) + eps) * decay)
    a_t = a / decay
    lines = [g_line] + lines
    lines.append(rf"\alpha_t &= {A} / \bigl(1 + (t-1)\,\eta\bigr) = {num(a)} / \bigl(1 + {s.t - 1}\cdot{num(eta)}\bigr)"
                 rf" = {num(a_t)}")
    lines.append(rf"G_t &= G_{{t-1}} + g_t^2 = {vec(G0)} + {vec(g * g)} = {vec(G)}")
    lines.append(rf"\Delta\theta_t &= -\alpha_t\, g_t / \bigl(\sqrt{{G_t}} + \varepsilon\bigr) = "
                 rf"-{num(a_t)}\cdot{vec(g)} / \bigl({vec(np.sqrt(G))} + {num(eps)}\bigr) = {vec(s.update)}")
    return lines


def _rmsprop(s: _Step) -> list[str]:
    g_line, g = _gradient(s, True)
    b2, eps, mu = float(s.h("beta2", 0.99)), float(s.h("eps", 1e-8)), float(s.h("momentum"))
    v, v_hat = s.cur("v"), s.cur("v_hat")
    A, a, lines = _alpha(s, lambda lr: lr * (math.sqrt(v_hat[0]) + eps))
    lines = [g_line] + lines
    lines.append(_ema("v_t", "v_{t-1}", r"\beta_2", b2, s.prev("v"), v, "g_t^2", g * g))
    corrected, centered = bool(s.h("bias_correction", False)), bool(s.h("centered", False))
    if corrected or centered:
        bc = 1 - b2 ** s.t if corrected else 1.0
        rule = r"v_t / (1-\beta_2^t)" if corrected else "v_t"
        rule += r" - \bar g_t^2" if centered else ""
        lines.append(rf"\hat v_t &= {rule} = {vec(v_hat)}" + (rf" \quad (1-\beta_2^t = {num(bc)})" if corrected else ""))
        vs = r"\hat v_t"
    else:
        vs = "v_t"
    denom = np.sqrt(v_hat) + eps
    if mu == 0.0:
        lines.append(rf"\Delta\theta_t &= -{A}\, g_t / \bigl(\sqrt{{{vs}}} + \varepsilon\bigr) = -{num(a)}\cdot"
                     rf"{vec(g)} / {vec(denom)} = {vec(s.update)}")
    else:
        b = -s.update / a
        b_prev = -s.prev("update") / a
        lines.append(rf"b_t &= \mu\, b_{{t-1}} + g_t / \bigl(\sqrt{{{vs}}} + \varepsilon\bigr) = {num(mu)}\cdot"
                     rf"{vec(b_prev)} + {vec(g)} / {vec(denom)} = {vec(b)}")
        lines.append(rf"\Delta\theta_t &= -{A}\, b_t = -{num(a)}\cdot{vec(b)} = {vec(s.update)}")
    return lines


def _adadelta(s: _Step) -> list[str]:
    g_line, g = _gradient(s, True)
    rho, eps = float(s.h("rho", 0.9)), float(s.h("eps", 1e-6))
    v, u, u_prev = s.cur("v"), s.cur("u"), s.prev("u")
    rate = np.sqrt(u_prev + eps) / np.sqrt(v + eps)
    A, a, lines = _alpha(s, lambda lr: lr / rate[0])
    lines = [g_line] + lines
    delta = rate * g
    lines.append(_ema("v_t", "v_{t-1}", r"\rho", rho, s.prev("v"), v, "g_t^2", g * g))
    lines.append(rf"\Delta_t &= \frac{{\sqrt{{u_{{t-1}} + \varepsilon}}}}{{\sqrt{{v_t + \varepsilon}}}}\, g_t = "
                 rf"{vec(rate)}\odot{vec(g)} = {vec(delta)}")
    lines.append(_ema("u_t", "u_{t-1}", r"\rho", rho, u_prev, u, r"\Delta_t^2", delta * delta))
    lines.append(rf"\Delta\theta_t &= -{A}\, \Delta_t = -{num(a)}\cdot{vec(delta)} = {vec(s.update)}")
    return lines


def _moments(s: _Step, g) -> tuple[list[str], float, float]:
    """m_t and v_t lines (Adam family)."""
    b1, b2 = float(s.h("beta1", 0.9)), float(s.h("beta2", 0.999))
    lines = [_ema("m_t", "m_{t-1}", r"\beta_1", b1, s.prev("m"), s.cur("m"), "g_t", g)]
    if s.has("v"):
        lines.append(_ema("v_t", "v_{t-1}", r"\beta_2", b2, s.prev("v"), s.cur("v"), "g_t^2", g * g))
    return lines, b1, b2


def _m_hat(s: _Step, b1: float, corrected: bool = True) -> str:
    if not corrected:
        return rf"\hat m_t &= m_t = {vec(s.cur('m_hat'))} \quad \text{{(bias correction off)}}"
    bc = 1 - b1 ** s.t
    return (rf"\hat m_t &= m_t / (1-\beta_1^t) = {vec(s.cur('m'))} / \bigl(1 - {num(b1)}^{{{s.t}}}\bigr) = "
            rf"{vec(s.cur('m'))} / {num(bc)} = {vec(s.cur('m_hat'))}")


def _adam(s: _Step) -> list[str]:
    decoupled = s.run.name == "adamw"
    g_line, g = _gradient(s, not decoupled)
    eps = float(s.h("eps", 1e-8))
    v_hat = s.cur("v_hat")
    A, a, extra = _alpha(s, lambda lr: lr * (math.sqrt(v_hat[0]) + eps))
    lines, b1, b2 = _moments(s, g)
    lines = [g_line] + extra + lines
    corrected = bool(s.h("bias_correction", True))
    v_sym = "v_t"
    if s.run.name == "amsgrad":
        lines.append(rf"v^{{\max}}_t &= \max\bigl(v^{{\max}}_{{t-1}},\, v_t\bigr) = \max\bigl({vec(s.prev('v_max'))},\,"
                     rf" {vec(s.cur('v'))}\bigr) = {vec(s.cur('v_max'))}")
        v_sym = r"v^{\max}_t"
    lines.append(_m_hat(s, b1, corrected))
    v_used = s.cur("v_max") if s.run.name == "amsgrad" else s.cur("v")
    if corrected:
        bc2 = 1 - b2 ** s.t
        lines.append(rf"\hat v_t &= {v_sym} / (1-\beta_2^t) = {vec(v_used)} / \bigl(1 - {num(b2)}^{{{s.t}}}\bigr) = "
                     rf"{vec(v_used)} / {num(bc2)} = {vec(v_hat)}")
    else:
        lines.append(rf"\hat v_t &= {v_sym} = {vec(v_hat)} \quad \text{{(bias correction off)}}")
    step = rf"{vec(s.cur('m_hat'))} / \bigl({vec(np.sqrt(v_hat))} + {num(eps)}\bigr)"
    if decoupled:
        lam = float(s.h("weight_decay"))
        lines.append(rf"\Delta\theta_t &= -{A}\,\lambda\,\theta_{{t-1}} - {A}\, \hat m_t / \bigl(\sqrt{{\hat v_t}} + "
                     rf"\varepsilon\bigr) = -{num(a)}\cdot{num(lam)}\cdot{vec(s.theta_prev)} - {num(a)}\cdot{step}"
                     rf" = {vec(s.update)}")
    else:
        lines.append(rf"\Delta\theta_t &= -{A}\, \hat m_t / \bigl(\sqrt{{\hat v_t}} + \varepsilon\bigr) = "
                     rf"-{num(a)}\cdot{step} = {vec(s.update)}")
    return lines


def _adamax(s: _Step) -> list[str]:
    g_line, g = _gradient(s, True)
    u = s.cur("u")
    A, a, extra = _alpha(s, lambda lr: lr * u[0])
    lines, b1, b2 = _moments(s, g)
    eps = float(s.h("eps", 1e-8))
    lines = [g_line] + extra + lines
    lines.append(rf"u_t &= \max\bigl(\beta_2\, u_{{t-1}},\ |g_t| + \varepsilon\bigr) = \max\bigl({num(b2)}\cdot"
                 rf"{vec(s.prev('u'))},\ {vec(np.abs(g) + eps)}\bigr) = {vec(u)}")
    lines.append(_m_hat(s, b1, bool(s.h("bias_correction", True))))
    lines.append(rf"\Delta\theta_t &= -{A}\, \hat m_t / u_t = -{num(a)}\cdot{vec(s.cur('m_hat'))} / {vec(u)} = "
                 rf"{vec(s.update)}")
    return lines


def _nadam(s: _Step) -> list[str]:
    g_line, g = _gradient(s, True)
    eps, psi = float(s.h("eps", 1e-8)), float(s.h("momentum_decay", 4e-3))
    v_hat = s.cur("v_hat")
    A, a, extra = _alpha(s, lambda lr: lr * (math.sqrt(v_hat[0]) + eps))
    lines, b1, b2 = _moments(s, g)
    lines = [g_line] + extra + lines
    mu = [b1 * (1 - 0.5 * 0.96 ** (k * psi)) for k in range(1, s.t + 2)]     # μ_1 … μ_{t+1}
    prod_t = float(np.prod(mu[:-1]))
    prod_next = prod_t * mu[-1]
    lines.append(rf"\mu_t &= \beta_1 \bigl(1 - \tfrac12\, 0.96^{{t\psi}}\bigr) = {num(mu[-2])}, \quad "
                 rf"\mu_{{t+1}} = {num(mu[-1])}, \quad \textstyle\prod_{{i\le t}}\mu_i = {num(prod_t)}")
    bc2 = 1 - b2 ** s.t
    lines.append(rf"\hat v_t &= v_t / (1-\beta_2^t) = {vec(s.cur('v'))} / {num(bc2)} = {vec(v_hat)}")
    lines.append(rf"\hat m_t &= \frac{{\mu_{{t+1}}\, m_t}}{{1 - \prod_{{i=1}}^{{t+1}}\mu_i}} + "
                 rf"\frac{{(1-\mu_t)\, g_t}}{{1 - \prod_{{i=1}}^{{t}}\mu_i}} = "
                 rf"\frac{{{num(mu[-1])}\cdot{vec(s.cur('m'))}}}{{{num(1 - prod_next)}}} + "
                 rf"\frac{{{num(1 - mu[-2])}\cdot{vec(g)}}}{{{num(1 - prod_t)}}} = {vec(s.cur('m_hat'))}")
    lines.append(rf"\Delta\theta_t &= -{A}\, \hat m_t / \bigl(\sqrt{{\hat v_t}} + \varepsilon\bigr) = "
                 rf"-{num(a)}\cdot{vec(s.cur('m_hat'))} / \bigl({vec(np.sqrt(v_hat))} + {num(eps)}\bigr) = "
                 rf"{vec(s.update)}")
    return lines


def _radam(s: _Step) -> list[str]:
    g_line, g = _gradient(s, True)
    eps = float(s.h("eps", 1e-8))
    b1, b2 = float(s.h("beta1", 0.9)), float(s.h("beta2", 0.999))
    t = s.t
    bc2 = 1 - b2 ** t
    rho_inf = 2 / (1 - b2) - 1
    rho_t = rho_inf - 2 * t * b2 ** t / bc2
    v = s.cur("v")
    if rho_t > 5:
        r_t = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        ell = math.sqrt(bc2) / (np.sqrt(v) + eps)
        A, a, extra = _alpha(s, lambda lr: lr / (ell[0] * r_t))
    else:
        A, a, extra = _alpha(s, lambda lr: lr)
    lines, _, _ = _moments(s, g)
    lines = [g_line] + extra + lines
    lines.append(_m_hat(s, b1))
    lines.append(rf"\rho_\infty &= 2/(1-\beta_2) - 1 = {num(rho_inf)}, \quad \rho_t = \rho_\infty - "
                 rf"2t\,\beta_2^t / (1-\beta_2^t) = {num(rho_t)}")
    if rho_t > 5:
        lines.append(rf"r_t &= \sqrt{{\frac{{(\rho_t-4)(\rho_t-2)\,\rho_\infty}}{{(\rho_\infty-4)(\rho_\infty-2)\,"
                     rf"\rho_t}}}} = {num(r_t)}, \quad \ell_t = \frac{{\sqrt{{1-\beta_2^t}}}}{{\sqrt{{v_t}} + "
                     rf"\varepsilon}} = {vec(ell)}")
        lines.append(rf"\Delta\theta_t &= -{A}\, \hat m_t\, r_t\, \ell_t = -{num(a)}\cdot{vec(s.cur('m_hat'))}"
                     rf"\cdot{num(r_t)}\odot{vec(ell)} = {vec(s.update)}")
    else:
        lines.append(rf"\Delta\theta_t &= -{A}\, \hat m_t = -{num(a)}\cdot{vec(s.cur('m_hat'))} = "
                     rf"{vec(s.update)} \quad (\rho_t \le 5\text{{: no adaptive step yet}})")
    return lines


def _lion(s: _Step) -> list[str]:
    g_line, g = _gradient(s, False)
    A, a, extra = _alpha(s, lambda lr: lr)
    b1, b2, lam = float(s.h("beta1", 0.9)), float(s.h("beta2", 0.99)), float(s.h("weight_decay"))
    c = s.cur("c")
    lines = [g_line] + extra
    lines.append(_ema("c_t", "m_{t-1}", r"\beta_1", b1, s.prev("m"), c, "g_t", g))
    decay = rf" + {num(lam)}\cdot{vec(s.theta_prev)}" if lam else ""
    lines.append(rf"\Delta\theta_t &= -{A}\,\bigl(\operatorname{{sign}}(c_t) + \lambda\,\theta_{{t-1}}\bigr) = "
                 rf"-{num(a)}\cdot\bigl({vec(np.sign(c))}{decay}\bigr) = {vec(s.update)}")
    lines.append(_ema("m_t", "m_{t-1}", r"\beta_2", b2, s.prev("m"), s.cur("m"), "g_t", g))
    return lines


def _newton(s: _Step, surface=None) -> list[str]:
    g_line, g = _gradient(s, False)
    a = float(s.h("lr", 1.0))
    delta = float(s.h("damping", 0.0))
    free = bool(s.h("saddle_free", False))
    lines = [g_line]
    h_line = r"H_t &= \nabla^2 f(\theta_{t-1})"
    if surface is not None:
        with np.errstate(all="ignore"):
            H = np.asarray(surface.hessian(s.theta_prev[None], s.t), dtype=float)[0]
        h_line += (rf" = \begin{{pmatrix}} {num(H[0, 0])} & {num(H[0, 1])} \\ {num(H[1, 0])} & {num(H[1, 1])}"
                   r" \end{pmatrix}")
    lines.append(h_line + r" \quad \text{(the exact Hessian of the symbolic expression)}")
    if free:
        lines.append(r"H_t &\leftarrow |H_t| \quad \text{(saddle-free: eigenvalues by their absolute values)}")
    lines.append(rf"\Delta\theta_t &= -\alpha\, \bigl(H_t + \delta I\bigr)^{{-1}} g_t = -{num(a)}\cdot\bigl(H_t + "
                 rf"{num(delta)}\, I\bigr)^{{-1}} {vec(g)} = {vec(s.update)}")
    return lines


FAMILIES = {
    "sgd": _sgd, "momentum": _sgd, "nesterov": _sgd, "adagrad": _adagrad, "rmsprop": _rmsprop,
    "adadelta": _adadelta, "adam": _adam, "adamw": _adam, "amsgrad": _adam, "adamax": _adamax,
    "nadam": _nadam, "radam": _radam, "lion": _lion, "newton": _newton,
}


def step_latex(run: RunView, t: int, start_index: int = 0, *, surface=None) -> str:
    r"""Step t (1..S) of ``run`` (start ``start_index``) as KaTeX: the update rule with its numbers.

    E.g. for Adam ``m_t &= \beta_1\, m_{t-1} + (1-\beta_1)\, g_t = 0.9\cdot(…) + 0.1\cdot(…) = (…)``,
    then v, m̂, v̂, Δθ and θ_t. Pass ``surface`` to print Newton's Hessian too. A step at or after the
    start's divergence is not written out (it was never taken); a note says so."""
    run = check_run(run)
    t, i = check_step(run, t, start_index)
    if run.name not in FAMILIES:
        raise ValueError(f"no step formula for optimizer {run.name!r}")
    missing = [k for k in NEEDS if k not in run.internals]
    if missing:
        raise ValueError(f"{run.label}: step_latex needs internals {missing}; run with record_internals=True")
    d = int(run.diverged_at[i])
    where = rf"t &= {t}, \quad \theta_{{t-1}} = {vec(run.path[i, t - 1])}"
    if 0 <= d <= t:
        body = [where, rf"&\text{{this run diverged at step {d}: step {t} was not taken}}"]
    else:
        s = _Step(run, t, i)
        rows = FAMILIES[run.name](s, surface) if run.name == "newton" else FAMILIES[run.name](s)
        body = [where] + rows + [rf"\theta_t &= \theta_{{t-1}} + \Delta\theta_t = {vec(s.theta)}"]
    return "\\begin{aligned}\n" + " \\\\\n".join(body) + "\n\\end{aligned}"
