"""Independent reference tests for the 14 optimizer rules.

The reference below is written from the papers and PyTorch's documented algorithms (torch.optim's
algorithm boxes / ``_single_tensor_*`` functions), not from ``optimizers/*.py``: plain Python floats,
one coordinate at a time, one loop iteration per step. The vectorised ``optimizers.run`` must give the
same trajectory to float64 rounding (rtol 1e-10, atol 1e-12), alone and batched, and a few first
steps are checked against numbers worked out by hand.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import optimizers
import surfaces

RTOL, ATOL = 1e-10, 1e-12
# torch.optim.NAdam keeps the running product Π μ_i in a tensor of the default dtype, float32, even for
# float64 parameters: mu_product *= μ_t is float32 arithmetic. The package reproduces this (its first
# step then differs from float64 math by ~1e-8 relatively), so the reference models it too.
NADAM_F32 = True
STEPS = 200

# ---- PyTorch's defaults, typed from the torch.optim documentation ------------------------------------

DEFAULTS = {
    "sgd": dict(lr=1e-3, weight_decay=0.0),
    "momentum": dict(lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0),
    "nesterov": dict(lr=1e-3, momentum=0.9, weight_decay=0.0),
    "adagrad": dict(lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10),
    "rmsprop": dict(lr=1e-2, beta2=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
                    bias_correction=False),
    "adadelta": dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0),
    "adam": dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, bias_correction=True),
    "adamw": dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2, bias_correction=True),
    "amsgrad": dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, bias_correction=True),
    "adamax": dict(lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, bias_correction=True),
    "nadam": dict(lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, momentum_decay=4e-3),
    "radam": dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0),
    "lion": dict(lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0),
    "newton": dict(lr=1.0, damping=0.0, saddle_free=False),
}


# ---- the reference rules: one coordinate, Python floats ----------------------------------------------
# Each rule maps (g, θ, state s, step t ≥ 1, hyperparameters h) to the new θ. ``s`` is a dict holding
# this coordinate's state; rules also leave in it the quantities the page plots (m, v, m_hat, …).

def ref_sgd(g, p, s, t, h):
    g = g + h["weight_decay"] * p                            # L2 penalty added to the gradient
    return p - h["lr"] * g                                   # θ ← θ − α g


def ref_momentum(g, p, s, t, h, nesterov=False):
    mu, tau = h["momentum"], h.get("dampening", 0.0)
    g = g + h["weight_decay"] * p
    s["m"] = g if t == 1 else mu * s["m"] + (1 - tau) * g   # b₁ = g₁ (no dampening), b = μb + (1−τ)g
    d = g + mu * s["m"] if nesterov else s["m"]              # Nesterov: d = g + μ b
    return p - h["lr"] * d


def ref_nesterov(g, p, s, t, h):
    return ref_momentum(g, p, s, t, h, nesterov=True)


def ref_adagrad(g, p, s, t, h):
    g = g + h["weight_decay"] * p
    clr = h["lr"] / (1 + (t - 1) * h["lr_decay"])           # decayed step size
    s["v"] = s.get("v", h["initial_accumulator_value"]) + g * g   # G ← G + g²
    return p - clr * g / (math.sqrt(s["v"]) + h["eps"])


def ref_rmsprop(g, p, s, t, h):
    b2, bc = h["beta2"], (1 - h["beta2"] ** t if h["bias_correction"] else 1.0)
    g = g + h["weight_decay"] * p
    s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g        # v ← β₂v + (1−β₂)g²
    s["v_hat"] = s["v"] / bc                                 # optional bias correction (extension)
    if h["centered"]:
        s["g_avg"] = b2 * s.get("g_avg", 0.0) + (1 - b2) * g   # ḡ ← β₂ḡ + (1−β₂)g
        denom = math.sqrt(s["v_hat"] - (s["g_avg"] / bc) ** 2) + h["eps"]
    else:
        denom = math.sqrt(s["v_hat"]) + h["eps"]
    if h["momentum"] > 0:
        s["b"] = h["momentum"] * s.get("b", 0.0) + g / denom   # b ← μb + g/(√v̂ + ε)
        return p - h["lr"] * s["b"]
    return p - h["lr"] * g / denom


def ref_adadelta(g, p, s, t, h):
    rho, eps = h["rho"], h["eps"]
    g = g + h["weight_decay"] * p
    s["v"] = rho * s.get("v", 0.0) + (1 - rho) * g * g      # E[g²]
    dx = math.sqrt(s.get("u", 0.0) + eps) / math.sqrt(s["v"] + eps) * g   # RMS[Δθ]_{t−1}/RMS[g]_t · g
    s["u"] = rho * s.get("u", 0.0) + (1 - rho) * dx * dx    # E[Δθ²]
    return p - h["lr"] * dx


def ref_adam(g, p, s, t, h, decoupled=False, amsgrad=False):
    b1, b2, lr, bc = h["beta1"], h["beta2"], h["lr"], h["bias_correction"]
    if decoupled:
        p = p - lr * h["weight_decay"] * p                   # AdamW: θ ← θ − αλθ first …
    else:
        g = g + h["weight_decay"] * p                        # … Adam: L2 in the gradient
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g            # m ← β₁m + (1−β₁)g
    s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g        # v ← β₂v + (1−β₂)g²
    bc1, bc2 = (1 - b1 ** t, 1 - b2 ** t) if bc else (1.0, 1.0)
    s["m_hat"], s["v_hat"] = s["m"] / bc1, s["v"] / bc2     # bias-corrected moments
    if amsgrad:
        s["v_max"] = max(s.get("v_max", 0.0), s["v"])       # PyTorch: max of the raw v …
        denom = math.sqrt(s["v_max"]) / math.sqrt(bc2) + h["eps"]   # … then corrected by √(1−β₂ᵗ)
    else:
        denom = math.sqrt(s["v_hat"]) + h["eps"]
    return p - lr * s["m_hat"] / denom


def ref_adamw(g, p, s, t, h):
    return ref_adam(g, p, s, t, h, decoupled=True)


def ref_amsgrad(g, p, s, t, h):
    return ref_adam(g, p, s, t, h, amsgrad=True)


def ref_adamax(g, p, s, t, h):
    b1 = h["beta1"]
    g = g + h["weight_decay"] * p
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    s["u"] = max(h["beta2"] * s.get("u", 0.0), abs(g) + h["eps"])   # u ← max(β₂u, |g| + ε)
    s["m_hat"] = s["m"] / (1 - b1 ** t if h["bias_correction"] else 1.0)
    return p - h["lr"] * s["m_hat"] / s["u"]


def ref_nadam(g, p, s, t, h):
    b1, b2, lr, psi = h["beta1"], h["beta2"], h["lr"], h["momentum_decay"]
    g = g + h["weight_decay"] * p
    mu = b1 * (1 - 0.5 * 0.96 ** (t * psi))                 # μ_t
    mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))      # μ_{t+1}
    if NADAM_F32:                                            # Π_{i≤t} μ_i, as torch keeps it (see NADAM_F32)
        s["mu_prod"] = float(np.float32(s.get("mu_prod", 1.0)) * np.float32(mu))
    else:
        s["mu_prod"] = s.get("mu_prod", 1.0) * mu           # Π_{i≤t} μ_i
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
    s["v_hat"] = s["v"] / (1 - b2 ** t)
    denom = math.sqrt(s["v_hat"]) + h["eps"]
    return (p - lr * (1 - mu) / (1 - s["mu_prod"]) * g / denom
            - lr * mu_next / (1 - s["mu_prod"] * mu_next) * s["m"] / denom)


def ref_radam(g, p, s, t, h):
    b1, b2, lr = h["beta1"], h["beta2"], h["lr"]
    g = g + h["weight_decay"] * p
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
    s["m_hat"] = s["m"] / (1 - b1 ** t)
    rho_inf = 2 / (1 - b2) - 1                               # ρ_∞
    rho = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)          # ρ_t
    if rho <= 5:
        return p - lr * s["m_hat"]                           # un-rectified: SGD with momentum
    r = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
    adaptive = math.sqrt(1 - b2 ** t) / (math.sqrt(s["v"]) + h["eps"])   # l_t
    return p - lr * s["m_hat"] * r * adaptive


def _sign(x):
    return (x > 0) - (x < 0)


def ref_lion(g, p, s, t, h):
    m = s.get("m", 0.0)
    s["c"] = h["beta1"] * m + (1 - h["beta1"]) * g          # c = β₁m + (1−β₁)g
    p = p - h["lr"] * (_sign(s["c"]) + h["weight_decay"] * p)   # θ ← θ − α(sign c + λθ)
    s["m"] = h["beta2"] * m + (1 - h["beta2"]) * g          # m ← β₂m + (1−β₂)g
    return p


RULES = {"sgd": ref_sgd, "momentum": ref_momentum, "nesterov": ref_nesterov, "adagrad": ref_adagrad,
         "rmsprop": ref_rmsprop, "adadelta": ref_adadelta, "adam": ref_adam, "adamw": ref_adamw,
         "amsgrad": ref_amsgrad, "adamax": ref_adamax, "nadam": ref_nadam, "radam": ref_radam,
         "lion": ref_lion}


def ref_newton(g, hess, h):
    """(Δx, Δy) = −α (H + δI)⁻¹ g with a hand-written 2×2 inverse; saddle-free uses |H| = V|Λ|Vᵀ."""
    (a, b), (_, d) = hess                                    # symmetric: H = [[a, b], [b, d]]
    if h["saddle_free"]:
        mean, r = (a + d) / 2, math.hypot((a - d) / 2, b)
        l1, l2 = mean + r, mean - r                          # eigenvalues, l1 ≥ l2
        if l2 >= 0:
            pass                                             # |H| = H
        elif l1 <= 0:
            a, b, d = -a, -b, -d                             # |H| = −H
        else:                                                # |H| = ((λ₁+λ₂)H − 2λ₁λ₂I)/(λ₁−λ₂)
            a, b, d = (((l1 + l2) * a - 2 * l1 * l2) / (l1 - l2), (l1 + l2) * b / (l1 - l2),
                       ((l1 + l2) * d - 2 * l1 * l2) / (l1 - l2))
    a, d = a + h["damping"], d + h["damping"]
    det = a * d - b * b
    return (-h["lr"] * (d * g[0] - b * g[1]) / det,         # [[a, b], [b, d]]⁻¹ = [[d, −b], [−b, a]]/det
            -h["lr"] * (a * g[1] - b * g[0]) / det)


def reference(name, hyper, fns, start, steps=STEPS):
    """The reference trajectory: points (steps+1, 2) and each step's per-coordinate state."""
    h = {k: v if isinstance(v, bool) else float(v) for k, v in {**DEFAULTS[name], **hyper}.items()}
    grad, hess = fns
    p = [float(start[0]), float(start[1])]
    states = [{}, {}]
    path, record = [tuple(p)], []
    for t in range(1, steps + 1):
        g = grad(*p)
        if not all(map(math.isfinite, g)):
            break
        if name == "newton":
            dx, dy = ref_newton(g, hess(*p), h)
            p = [p[0] + dx, p[1] + dy]
        else:
            p = [RULES[name](g[i], p[i], states[i], t, h) for i in range(2)]
        if not all(map(math.isfinite, p)):
            break
        path.append(tuple(p))
        record.append(dict(grad=g, **{k: (states[0].get(k), states[1].get(k)) for k in states[0]}))
    return np.array(path), record


# ---- gradients and Hessians -------------------------------------------------------------------------

def rosenbrock_grad(x, y):                                   # f = (1 − x)² + 100(y − x²)²
    return (-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x))


def rosenbrock_hess(x, y):
    return ((2 - 400 * y + 1200 * x * x, -400 * x), (-400 * x, 200.0))


_C, _S, _K = math.cos(math.radians(30)), math.sin(math.radians(30)), 10.0


def bowl_grad(x, y):                                         # f = ½(u² + κv²), u = cx + sy, v = −sx + cy
    u, v = _C * x + _S * y, -_S * x + _C * y
    return (_C * u - _S * _K * v, _S * u + _C * _K * v)


def bowl_hess(x, y):
    return ((_C * _C + _K * _S * _S, (1 - _K) * _C * _S), ((1 - _K) * _C * _S, _S * _S + _K * _C * _C))


def himmelblau_grad(x, y):                                   # f = (x² + y − 11)² + (x + y² − 7)²
    a, b = x * x + y - 11, x + y * y - 7
    return (4 * x * a + 2 * b, 2 * a + 4 * y * b)


def himmelblau_hess(x, y):
    return ((12 * x * x + 4 * y - 42, 4 * x + 4 * y), (4 * x + 4 * y, 4 * x + 12 * y * y - 26))


def ravine_grad(x, y):                                       # f = x²/10 + 10(y − sin x)²
    r = y - math.sin(x)
    return (x / 5 - 20 * r * math.cos(x), 20 * r)


def ravine_hess(x, y):
    r, c = y - math.sin(x), math.cos(x)
    return ((0.2 + 20 * c * c + 20 * r * math.sin(x), -20 * c), (-20 * c, 20.0))


def from_surface(surface):
    """The surface's own compiled gradient and Hessian, called on one point and returned as floats."""
    def grad(x, y):
        gx, gy = surface.grad(np.array([[x, y]]))[0]
        return float(gx), float(gy)

    def hess(x, y):
        (a, b), (c, d) = surface.hessian(np.array([[x, y]]))[0]
        return (float(a), float(b)), (float(c), float(d))
    return grad, hess


HAND = {"rosenbrock": (rosenbrock_grad, rosenbrock_hess), "bowl": (bowl_grad, bowl_hess),
        "himmelblau": (himmelblau_grad, himmelblau_hess), "ravine": (ravine_grad, ravine_hess)}

# problem key → (surface name, start, gradient source)
PROBLEMS = {
    "rosen_hand": ("rosenbrock", (-1.5, 2.5), "hand"),
    "rosen_surf": ("rosenbrock", (0.5, -0.5), "surface"),
    "bowl_hand": ("bowl", (-2.5, 2.0), "hand"),
    "himmel_hand": ("himmelblau", (-0.5, -0.5), "hand"),
    "ravine_hand": ("ravine", (-3.5, 0.5), "hand"),
    "beale_surf": ("beale", (-1.0, 1.5), "surface"),
    "camel_surf": ("six_hump_camel", (-2.0, -1.0), "surface"),
    "styb_surf": ("styblinski_tang", (-4.0, 4.5), "surface"),
    "booth_surf": ("booth", (-8.0, -8.0), "surface"),
}
_SURFACES: dict = {}


def problem(key):
    name, start, source = PROBLEMS[key]
    if name not in _SURFACES:
        _SURFACES[name] = surfaces.get(name)
    surface = _SURFACES[name]
    return surface, start, (HAND[name] if source == "hand" else from_surface(surface))


def test_hand_gradients_match_the_surfaces():
    """The hand-written formulas are the same functions as the SymPy surfaces (to rounding)."""
    rng = np.random.default_rng(1)
    for name, (grad, hess) in HAND.items():
        s = surfaces.get(name)
        for x, y in rng.uniform(-2, 2, (20, 2)):
            np.testing.assert_allclose(grad(x, y), s.grad(np.array([[x, y]]))[0], rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(hess(x, y), s.hessian(np.array([[x, y]]))[0], rtol=1e-12, atol=1e-12)


def test_defaults_are_pytorchs():
    assert optimizers.names() == list(DEFAULTS)
    for name, defaults in DEFAULTS.items():
        assert dict(optimizers.get(name).hyper) == defaults, name


# ---- 2. the vectorised loop equals the scalar reference ---------------------------------------------

# (optimizer, hyperparameters, problems). Learning rates are chosen so that the runs stay finite, and
# every case is well-conditioned: a reference started one ulp away stays within ~1e-11 of it for 200
# steps. Some natural choices are chaotic instead (RMSprop's defaults from Rosenbrock's (−1.5, 2.5),
# Adam with α = 0.02, β₂ = 0.9 on the ravine, NAdam with α = 0.03 on Beale): there one ulp of rounding
# grows to ~1e-2 by step 200, the reference disagrees with itself as much as with the package, and only
# an identical order of operations could match to 1e-10. They are left out.
R, RS, B, HM, RV = "rosen_hand", "rosen_surf", "bowl_hand", "himmel_hand", "ravine_hand"
BE, CA, ST, BO = "beale_surf", "camel_surf", "styb_surf", "booth_surf"
CASES = [
    ("sgd", {}, (R, RS, B)),
    ("sgd", {"lr": 0.01}, (B, HM, CA, BO)),
    ("sgd", {"lr": 0.005, "weight_decay": 0.5}, (B, HM, RV)),
    ("momentum", {}, (R, RS, B)),
    ("momentum", {"lr": 0.01, "momentum": 0.5, "dampening": 0.5}, (B, HM, CA)),
    ("momentum", {"lr": 0.005, "momentum": 0.8, "dampening": 0.2, "weight_decay": 0.3}, (B, RV, ST)),
    ("nesterov", {}, (R, RS, B)),
    ("nesterov", {"lr": 0.01, "momentum": 0.7}, (B, HM, CA)),
    ("nesterov", {"lr": 0.005, "momentum": 0.95, "weight_decay": 0.2}, (B, RV, ST)),
    ("adagrad", {}, (R, RS, B)),
    ("adagrad", {"lr": 0.5}, (B, HM, BE)),
    ("adagrad", {"lr": 0.3, "lr_decay": 0.05, "initial_accumulator_value": 0.7, "eps": 1e-6}, (R, HM, CA)),
    ("adagrad", {"lr": 0.1, "weight_decay": 0.4}, (B, RV, ST)),
    ("rmsprop", {}, (RS, B, HM)),
    ("rmsprop", {"lr": 0.003, "centered": True}, (R, HM, CA)),
    ("rmsprop", {"lr": 0.002, "momentum": 0.8}, (R, B, BE)),
    ("rmsprop", {"lr": 0.01, "bias_correction": True}, (R, HM, ST)),
    ("rmsprop", {"lr": 0.002, "beta2": 0.9, "momentum": 0.5, "centered": True, "weight_decay": 0.1},
     (B, HM, CA)),
    ("rmsprop", {"lr": 0.003, "beta2": 0.95, "momentum": 0.6, "bias_correction": True}, (B, RV, HM)),
    ("adadelta", {}, (RS, B, HM)),
    ("adadelta", {"lr": 0.5, "rho": 0.95, "eps": 1e-4}, (HM, ST, CA)),
    ("adadelta", {"lr": 2.0, "weight_decay": 0.1}, (B, RV, ST)),
    ("adam", {}, (R, RS, B)),
    ("adam", {"lr": 0.05}, (R, HM, BE, BO)),
    ("adam", {"lr": 0.02, "beta1": 0.5, "beta2": 0.9, "weight_decay": 0.1}, (B, HM, CA)),
    ("adam", {"lr": 0.01, "bias_correction": False}, (R, B, ST)),
    ("adamw", {}, (R, RS, B)),
    ("adamw", {"lr": 0.05, "weight_decay": 0.5}, (R, HM, BE)),
    ("adamw", {"lr": 0.02, "beta1": 0.8, "weight_decay": 0.1, "bias_correction": False}, (B, RV, CA)),
    ("amsgrad", {}, (R, RS, B)),
    ("amsgrad", {"lr": 0.05}, (R, HM, BE)),
    ("amsgrad", {"lr": 0.02, "beta2": 0.9, "weight_decay": 0.2}, (B, RV, CA)),
    ("amsgrad", {"lr": 0.01, "bias_correction": False}, (R, B, ST)),
    ("adamax", {}, (R, RS, B)),
    ("adamax", {"lr": 0.05, "beta2": 0.9}, (R, HM, BE)),
    ("adamax", {"lr": 0.02, "weight_decay": 0.3, "eps": 1e-3}, (B, RV, CA)),
    ("adamax", {"lr": 0.01, "bias_correction": False}, (R, B, ST)),
    ("nadam", {}, (R, RS, B)),
    ("nadam", {"lr": 0.03, "momentum_decay": 0.1}, (R, HM, ST)),
    ("nadam", {"lr": 0.02, "beta1": 0.7, "momentum_decay": 0.0, "weight_decay": 0.2}, (B, RV, CA)),
    ("radam", {}, (R, RS, B)),
    ("radam", {"lr": 0.02, "beta2": 0.9}, (HM, BE, CA)),               # rectified from t = 6
    ("radam", {"lr": 5e-4, "beta2": 0.9}, (R,)),
    ("radam", {"lr": 0.01, "beta2": 0.8, "weight_decay": 0.1}, (B, RV, CA)),   # rectified from t = 7
    ("radam", {"lr": 0.001, "beta2": 0.5}, (R, B, ST)),                # ρ_∞ = 3: never rectified
    ("lion", {}, (R, RS, B)),
    ("lion", {"lr": 0.01}, (R, HM, BE)),
    ("lion", {"lr": 0.005, "beta1": 0.5, "beta2": 0.9, "weight_decay": 0.5}, (B, RV, CA)),
    ("newton", {}, (R, RS, B)),
    ("newton", {"lr": 0.5, "damping": 1.0}, (R, HM, BE)),
    ("newton", {"saddle_free": True}, (HM, CA, ST)),
    ("newton", {"lr": 0.3, "damping": 0.5, "saddle_free": True}, (R, HM, RV)),
]
PARAMS = [pytest.param(name, hyper, key, id=f"{name}-{i}-{key}")
          for i, (name, hyper, keys) in enumerate(CASES) for key in keys]

# internals whose meaning is unambiguous, compared with the reference's values of the same name
INTERNALS = {"adam": ("m", "v", "m_hat", "v_hat"), "adamw": ("m", "v", "m_hat", "v_hat"),
             "amsgrad": ("m", "v", "m_hat", "v_max"),    # (its v̂ is the max in Reddi et al.: ambiguous) "adamax": ("m", "u", "m_hat"),
             "radam": ("m", "v", "m_hat"), "nadam": ("m", "v", "v_hat"), "adagrad": ("v",),
             "adadelta": ("v", "u"), "lion": ("m", "c"), "momentum": ("m",), "nesterov": ("m",)}


def compare(traj, k, ref_path, ref_record, keys=()):
    """Run k of ``traj`` against the reference, over the steps before either diverged."""
    d = int(traj.diverged_at[k])
    n = min(len(ref_path), traj.steps + 1 if d < 0 else d)
    assert n > 20, f"only {n} comparable steps: pick a smaller lr"
    np.testing.assert_allclose(traj.path[k, :n], ref_path[:n], rtol=RTOL, atol=ATOL, err_msg="path")
    # Internals are compared with an absolute tolerance scaled by the series' largest value: a gradient
    # or running average that passes near zero keeps the rounding of its largest terms.
    for key in ("grad", *keys) if traj.internals else ():
        want = np.array([r[key] for r in ref_record[:n - 1]], dtype=float)
        atol = ATOL + 1e-12 * np.abs(want).max(initial=0.0)
        np.testing.assert_allclose(traj.internals[key][k, :n - 1], want, rtol=RTOL, atol=atol, err_msg=key)
    return n


@pytest.mark.parametrize("name, hyper, key", PARAMS)
def test_run_equals_scalar_reference(name, hyper, key):
    surface, start, fns = problem(key)
    traj = optimizers.run(optimizers.get(name, **hyper), surface, start, STEPS, record_internals=True)
    ref_path, ref_record = reference(name, hyper, fns, start)
    compare(traj, 0, ref_path, ref_record, INTERNALS.get(name, ()))


# ---- 3. one batched call with per-run hyperparameters equals K scalar runs ----------------------------

BATCHED = [
    ("adam", dict(lr=np.array([1e-3, 2e-3, 0.05, 0.02, 0.1]), beta1=np.array([0.0, 0.5, 0.9, 0.95, 0.8]),
                  beta2=np.array([0.999, 0.9, 0.99, 0.999, 0.5])), "rosenbrock"),
    ("momentum", dict(lr=np.array([1e-4, 5e-4, 1e-3, 2e-4, 3e-4]), momentum=np.array([0.0, 0.5, 0.9, 0.99, 0.7]),
                      dampening=np.array([0.0, 0.1, 0.5, 0.0, 1.0])), "rosenbrock"),
    ("rmsprop", dict(lr=np.array([1e-3, 3e-3, 1e-2, 2e-3, 5e-3]), beta2=np.array([0.99, 0.9, 0.5, 0.999, 0.95]),
                     momentum=np.array([0.0, 0.5, 0.0, 0.9, 0.3]), bias_correction=True), "himmelblau"),
    ("nadam", dict(lr=np.array([2e-3, 1e-2, 0.03, 5e-3, 0.02]),
                   momentum_decay=np.array([4e-3, 0.0, 0.1, 1.0, 0.05])), "rosenbrock"),
    ("radam", dict(beta2=np.array([0.999, 0.9, 0.8, 0.5, 0.99]), lr=np.array([1e-3, 0.02, 0.01, 1e-3, 0.03])),
     "himmelblau"),
    ("lion", dict(lr=np.array([1e-4, 1e-3, 1e-2, 3e-3, 5e-3]), beta1=np.array([0.9, 0.5, 0.0, 0.95, 0.9]),
                  beta2=np.array([0.99, 0.9, 0.5, 0.999, 0.0])), "himmelblau"),
    ("adagrad", dict(lr=np.array([0.01, 0.1, 0.5, 0.3, 0.05]), lr_decay=np.array([0.0, 0.1, 0.01, 0.0, 1.0]),
                     initial_accumulator_value=np.array([0.0, 1.0, 0.1, 5.0, 0.0])), "rosenbrock"),
    ("newton", dict(lr=np.array([1.0, 0.5, 0.1, 1.0, 0.7]), damping=0.5), "himmelblau"),
    pytest.param("newton", dict(lr=np.array([1.0, 0.5, 0.1, 1.0, 0.7]), damping=np.array([0.0, 1.0, 0.1, 10.0, 0.5])),
                 "himmelblau", id="newton-damping"),
    ("adamw", dict(weight_decay=np.array([0.0, 0.01, 0.1, 1.0, 0.5]), lr=np.array([1e-3, 0.01, 0.02, 0.05, 0.03])),
     "ravine"),
]
STARTS = [(-1.5, 2.5), (0.5, -0.5), (1.2, 1.8), (-0.7, 0.3), (1.9, -0.9)]


@pytest.mark.parametrize("name, hyper, surface_name", BATCHED)
def test_batched_runs_equal_separate_references(name, hyper, surface_name):
    surface = surfaces.get(surface_name)
    traj = optimizers.run(optimizers.get(name, **hyper), surface, STARTS, STEPS, record_internals=True)
    assert traj.path.shape == (len(STARTS), STEPS + 1, 2)
    for k, start in enumerate(STARTS):
        hyper_k = {key: (v[k] if isinstance(v, np.ndarray) else v) for key, v in hyper.items()}
        ref_path, ref_record = reference(name, hyper_k, HAND[surface_name], start)
        compare(traj, k, ref_path, ref_record, INTERNALS.get(name, ()))


# ---- 4. first steps worked out by hand ------------------------------------------------------------------
# On Booth, f = (x + 2y − 7)² + (2x + y − 5)², the gradient is (10x + 8y − 34, 8x + 10y − 38): at the
# origin g = (−34, −38) exactly, and every coordinate's |g| is known, so each rule's first step is a
# closed form in α, β, ε.

G = np.array([-34.0, -38.0])
BOOTH = surfaces.get("booth")


def first_steps(name, n=1, **hyper):
    return optimizers.run(optimizers.get(name, **hyper), BOOTH, (0.0, 0.0), n).path[0]


def test_booth_gradient_at_origin():
    np.testing.assert_array_equal(BOOTH.grad(np.zeros((1, 2)))[0], G)


def test_first_step_sgd():
    np.testing.assert_allclose(first_steps("sgd", lr=0.01)[1], [0.34, 0.38], rtol=1e-13)   # −α g


def test_second_step_momentum():
    # b₁ = g₁ = (−34, −38), θ₁ = −0.01 b₁ = (0.34, 0.38); g₂ = (3.4 + 3.04 − 34, 2.72 + 3.8 − 38)
    # = (−27.56, −31.48); b₂ = 0.9 b₁ + (1 − 0.5) g₂ = (−30.6 − 13.78, −34.2 − 15.74) = (−44.38, −49.94);
    # θ₂ = θ₁ − 0.01 b₂ = (0.7838, 0.8794)
    path = first_steps("momentum", 2, lr=0.01, momentum=0.9, dampening=0.5)
    np.testing.assert_allclose(path[1:], [[0.34, 0.38], [0.7838, 0.8794]], rtol=1e-13)


def test_first_step_nesterov():
    # b₁ = g, d = g + μ b₁ = 1.9 g: θ₁ = −0.01 · 1.9 · (−34, −38) = (0.646, 0.722)
    np.testing.assert_allclose(first_steps("nesterov", lr=0.01)[1], [0.646, 0.722], rtol=1e-13)


def test_first_step_adagrad():
    a, eps = 0.1, 1e-10                                      # G₁ = g²: −α g/(|g| + ε)
    np.testing.assert_allclose(first_steps("adagrad", lr=a)[1], -a * G / (np.abs(G) + eps), rtol=1e-13)


def test_first_step_rmsprop():
    a, b2, eps = 0.01, 0.99, 1e-8                            # v₁ = (1 − β₂)g²
    want = -a * G / (math.sqrt(1 - b2) * np.abs(G) + eps)
    np.testing.assert_allclose(first_steps("rmsprop", lr=a)[1], want, rtol=1e-13)
    # with bias correction v̂₁ = g²: −α g/(|g| + ε) ≈ α (1, 1)
    want = -a * G / (np.abs(G) + eps)
    np.testing.assert_allclose(first_steps("rmsprop", lr=a, bias_correction=True)[1], want, rtol=1e-13)


def test_first_step_adadelta():
    lr, rho, eps = 1.0, 0.9, 1e-6                            # u₀ = 0, v₁ = (1 − ρ)g²
    want = -lr * math.sqrt(eps) / np.sqrt((1 - rho) * G**2 + eps) * G
    np.testing.assert_allclose(first_steps("adadelta")[1], want, rtol=1e-13)


def test_first_step_adam():
    a, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    # bias-corrected m̂₁ = g, v̂₁ = g²: −α g/(|g| + ε)
    np.testing.assert_allclose(first_steps("adam", lr=a)[1], -a * G / (np.abs(G) + eps), rtol=1e-13)
    # without correction m₁ = (1 − β₁)g, v₁ = (1 − β₂)g²
    want = -a * (1 - b1) * G / (math.sqrt(1 - b2) * np.abs(G) + eps)
    np.testing.assert_allclose(first_steps("adam", lr=a, bias_correction=False)[1], want, rtol=1e-13)
    # every first step is ≈ α in each coordinate, against the gradient
    np.testing.assert_allclose(first_steps("adam", lr=a)[1], [0.01, 0.01], rtol=1e-9)


def test_first_step_adamw():
    a, lam = 0.01, 0.5                                       # θ₀ = (1, 1): decay to (1 − αλ)θ₀, then Adam's step
    g = BOOTH.grad(np.array([[1.0, 1.0]]))[0]               # (10 + 8 − 34, 8 + 10 − 38) = (−16, −20)
    np.testing.assert_array_equal(g, [-16.0, -20.0])
    path = optimizers.run(optimizers.get("adamw", lr=a, weight_decay=lam), BOOTH, (1.0, 1.0), 1).path[0]
    np.testing.assert_allclose(path[1], (1 - a * lam) - a * g / (np.abs(g) + 1e-8), rtol=1e-13)


def test_first_step_amsgrad():                               # v_max₁ = v₁: the same step as Adam
    a, eps = 0.01, 1e-8
    np.testing.assert_allclose(first_steps("amsgrad", lr=a)[1], -a * G / (np.abs(G) + eps), rtol=1e-13)


def test_first_step_adamax():
    a, eps = 0.002, 1e-8                                     # m̂₁ = g, u₁ = |g| + ε
    np.testing.assert_allclose(first_steps("adamax")[1], -a * G / (np.abs(G) + eps), rtol=1e-13)


def test_first_step_lion():
    # c₁ = (1 − β₁)g, so −α sign(g) = (α, α); the second step too (c₂ = β₁m₁ + (1 − β₁)g₂, both negative)
    path = first_steps("lion", 2, lr=0.01)
    np.testing.assert_allclose(path[1:], [[0.01, 0.01], [0.02, 0.02]], rtol=1e-13)


def test_first_step_radam():
    # ρ₁ = ρ_∞ − 2β₂/(1 − β₂) = 1999 − 1998 = 1 ≤ 5: no adaptive term, θ₁ = −α m̂₁ = −α g
    np.testing.assert_allclose(first_steps("radam", lr=0.01)[1], [0.34, 0.38], rtol=1e-13)


def test_first_step_nadam():
    a, b1, eps, psi = 0.002, 0.9, 1e-8, 4e-3
    mu1 = b1 * (1 - 0.5 * 0.96 ** psi)                       # ≈ 0.450073
    mu2 = b1 * (1 - 0.5 * 0.96 ** (2 * psi))                 # ≈ 0.450147
    # Π μ = μ₁; v̂₁ = g²; θ₁ = −α(1 − μ₁)/(1 − Πμ) · g/(|g| + ε) − α μ₂/(1 − Πμ·μ₂) · (1 − β₁)g/(|g| + ε)
    exact = -a * G / (np.abs(G) + eps) * (1 + mu2 * (1 - b1) / (1 - mu1 * mu2))   # ≈ 0.0021129036 each
    np.testing.assert_allclose(first_steps("nadam")[1], exact, rtol=1e-7)
    assert abs(mu1 - 0.450073474) < 1e-9 and abs(exact[0] - 0.0021129036) < 1e-10
    # to rounding: torch (and the package) hold Π μ in float32 (see NADAM_F32)
    prod = float(np.float32(mu1))
    torch_like = -a * G / (np.abs(G) + eps) * ((1 - mu1) / (1 - prod) + mu2 * (1 - b1) / (1 - prod * mu2))
    np.testing.assert_allclose(first_steps("nadam")[1], torch_like, rtol=1e-13)


def test_lion_does_not_move_where_the_gradient_is_zero():
    # at Booth's minimum (1, 3) g = 0, so c = 0 and sign(0) = 0
    path = optimizers.run(optimizers.get("lion", lr=0.1), BOOTH, (1.0, 3.0), 3).path[0]
    np.testing.assert_array_equal(path, [[1.0, 3.0]] * 4)


def test_rmsprop_refuses_centered_with_bias_correction():
    # with both, v̂₁ = g² and ḡ̂₁ = g: the centred variance v̂₁ − ḡ̂₁² is exactly 0 and the first step −α g/ε
    with pytest.raises(ValueError, match="centered and bias_correction cannot be combined"):
        optimizers.get("rmsprop", centered=True, bias_correction=True)


def test_saddle_free_newton_escapes_the_saddle():
    # f = x² − y² at (1, 1): g = (2, −2), H = diag(2, −2). Newton: θ − H⁻¹g = (1 − 1, 1 − 1) = (0, 0),
    # the saddle; saddle-free: |H| = diag(2, 2), θ − |H|⁻¹g = (1 − 1, 1 + 1) = (0, 2), downhill in y.
    s = surfaces.get("saddle")
    plain = optimizers.run(optimizers.get("newton"), s, (1.0, 1.0), 1).path[0, 1]
    free = optimizers.run(optimizers.get("newton", saddle_free=True), s, (1.0, 1.0), 1).path[0, 1]
    np.testing.assert_allclose(plain, [0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(free, [0.0, 2.0], atol=1e-15)


@pytest.mark.parametrize("condition, rotation", [(1.0, 0.0), (10.0, 30.0), (100.0, 75.0), (1000.0, -40.0)])
def test_newton_solves_the_bowl_in_one_step(condition, rotation):
    s = surfaces.get("bowl", condition=condition, rotation=rotation)
    path = optimizers.run(optimizers.get("newton"), s, (-2.5, 2.0), 1).path[0]
    np.testing.assert_allclose(path[1], [0.0, 0.0], atol=1e-12)


def test_newton_solves_booth_in_one_step():
    # H = [[10, 8], [8, 10]], so θ₁ = θ₀ − H⁻¹(Hθ₀ − (34, 38)) = H⁻¹(34, 38) = (1, 3)
    for start in [(0.0, 0.0), (-8.0, -8.0), (7.0, -3.0)]:
        path = optimizers.run(optimizers.get("newton"), BOOTH, start, 1).path[0]
        np.testing.assert_allclose(path[1], [1.0, 3.0], atol=1e-12)


def test_damped_newton_first_step_on_booth():
    # (H + I)⁻¹ = [[11, −8], [−8, 11]]/57; −0.5 (H + I)⁻¹ g at g = (−34, −38):
    # (11·34 − 8·38, 11·38 − 8·34)/57 · 0.5 = (70, 146)/114
    path = first_steps("newton", lr=0.5, damping=1.0)
    np.testing.assert_allclose(path[1], [70 / 114, 146 / 114], rtol=1e-13)


# ---- 5. identities between rules -----------------------------------------------------------------------

def test_adam_without_momentum_is_bias_corrected_rmsprop():
    s = surfaces.get("rosenbrock")
    for lr, b2, eps in [(0.01, 0.999, 1e-8), (0.003, 0.9, 1e-6)]:
        a = optimizers.run(optimizers.get("adam", lr=lr, beta1=0.0, beta2=b2, eps=eps), s, (-1.5, 2.5), 300)
        r = optimizers.run(optimizers.get("rmsprop", lr=lr, beta2=b2, eps=eps, bias_correction=True),
                           s, (-1.5, 2.5), 300)
        np.testing.assert_allclose(a.path, r.path, rtol=1e-12, atol=1e-14)


def test_amsgrad_v_max_bounds_v_and_never_decreases():
    for name, start in [("rosenbrock", (-1.5, 2.5)), ("himmelblau", (-0.5, -0.5)), ("beale", (-1.0, 1.5))]:
        tr = optimizers.run(optimizers.get("amsgrad", lr=0.05), surfaces.get(name), start, 300,
                            record_internals=True)
        v, v_max = tr.internals["v"][0], tr.internals["v_max"][0]
        assert np.all(v_max >= v)
        assert np.all(np.diff(v_max, axis=0) >= 0)
        assert np.any(v_max > v)                              # the max actually binds somewhere


def test_adamw_without_decay_is_adam():
    s = surfaces.get("himmelblau")
    for hyper in [{}, {"lr": 0.05, "beta1": 0.5}, {"bias_correction": False, "lr": 0.01}]:
        a = optimizers.run(optimizers.get("adam", **hyper), s, (-0.5, -0.5), 300)
        w = optimizers.run(optimizers.get("adamw", weight_decay=0.0, **hyper), s, (-0.5, -0.5), 300)
        np.testing.assert_array_equal(a.path, w.path)


def test_nesterov_without_momentum_is_sgd():
    s = surfaces.get("rosenbrock")
    for hyper in [{}, {"lr": 5e-4, "weight_decay": 0.1}]:
        n = optimizers.run(optimizers.get("nesterov", momentum=0.0, **hyper), s, (-1.5, 2.5), 300)
        g = optimizers.run(optimizers.get("sgd", **hyper), s, (-1.5, 2.5), 300)
        np.testing.assert_allclose(n.path, g.path, rtol=1e-15, atol=0)


# ---- 6. hyperparameter validation -----------------------------------------------------------------------

@pytest.mark.parametrize("name, hyper, words", [
    ("adam", {"beta1": 1.0}, ["beta1", "adam"]),
    ("adam", {"beta1": 1.2}, ["beta1"]),
    ("adam", {"beta2": -0.1}, ["beta2"]),
    ("adam", {"lr": -1}, ["lr"]),
    ("adam", {"eps": -1}, ["eps"]),
    ("momentum", {"momentum": 1.0}, ["momentum"]),
    ("nesterov", {"momentum": 1.5}, ["momentum"]),
    ("momentum", {"dampening": 1.5}, ["dampening"]),
    ("adadelta", {"rho": 1.5}, ["rho"]),
    ("sgd", {"weight_decay": -0.1}, ["weight_decay"]),
    ("adam", {"momentum": 0.9}, ["momentum"]),               # not one of Adam's hyperparameters
    ("adam", {"betas": (0.9, 0.999)}, ["betas"]),
    ("sgd", {"lr": float("nan")}, ["lr"]),
    ("sgd", {"lr": float("inf")}, ["lr"]),
    ("adam", {"beta1": float("nan")}, ["beta1"]),
    ("adam", {"lr": "0.1"}, ["lr"]),
    ("adam", {"lr": None}, ["lr"]),
    ("rmsprop", {"centered": "yes"}, ["centered"]),
    ("adam", {"bias_correction": 1.0}, ["bias_correction"]),
    ("adam", {"lr": np.array([0.1, 0.01, -0.5])}, ["lr", "run 2"]),
    ("adam", {"beta1": np.array([0.9, 1.0])}, ["beta1", "run 1"]),
    ("adam", {"lr": [0.1, float("nan")]}, ["lr", "run 1"]),
    ("adam", {"lr": np.ones((2, 2))}, ["lr"]),
    ("adam", {"lr": np.array([])}, ["lr"]),
])
def test_invalid_hyperparameters_are_rejected(name, hyper, words):
    with pytest.raises(ValueError) as err:
        optimizers.get(name, **hyper)
    for word in words:
        assert word in str(err.value)


def test_unknown_optimizer_is_rejected():
    with pytest.raises(ValueError, match="adamm"):
        optimizers.get("adamm")


def test_mismatched_per_run_lengths_are_rejected():
    opt = optimizers.get("adam", lr=np.array([0.1, 0.01]), beta1=np.array([0.9, 0.8, 0.7]))
    with pytest.raises(ValueError, match="length"):
        optimizers.run(opt, surfaces.get("bowl"), [(0, 1), (1, 0)], 5)
    with pytest.raises(ValueError, match="runs"):
        optimizers.run(optimizers.get("adam", lr=np.array([0.1, 0.01])), surfaces.get("bowl"),
                       [(0, 1), (1, 0), (1, 1)], 5)
