"""The values the page offers for every setting, and how each is written.

Sliders over lists of values (``st.select_slider``) give log scales where they matter (α, ε), make
0.999 and 0.9999 reachable exactly, and keep every label equal to its value. Lessons may add exact
values (e.g. Reddi's β₂ = 1/(1 + C²)) through ``lessons.EXTRA_VALUES``.
"""
from __future__ import annotations

import math

MAX_STEPS = 5000
MAX_STARTS = 64
VIEWS = ("Contour", "Animation", "3-D", "Curves", "Small multiples", "Step inspector", "Internals",
         "Summary", "Export")
INSTANCES = 3                      # the same optimizer may be chosen up to this many times
DEFAULT_OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")
DEFAULT_SURFACE = "rosenbrock"
DEFAULT_STEPS = 500


def _decades(lo_exp: int, hi_exp: int, mantissas=(1, 2, 5)) -> list[float]:
    return [float(f"{m}e{k}") for k in range(lo_exp, hi_exp + 1) for m in mantissas]


GRIDS: dict[str, list] = {
    "lr": _decades(-5, 0) + [10.0],                                       # 1e-5 … 5, 10
    "beta1": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999],
    "beta2": [0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999, 0.9995, 0.9999, 0.99995, 0.99999],
    "eps": [float(f"1e{k}") for k in range(-12, 0)],                      # 1e-12 … 1e-1
    "momentum": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99],
    "dampening": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
    "weight_decay": [0.0, 1e-4, 1e-3, 1e-2, 0.05, 0.1, 0.2, 0.5, 1.0],
    "rho": [0.5, 0.8, 0.9, 0.95, 0.99, 0.999],
    "momentum_decay": [0.0, 1e-3, 4e-3, 1e-2, 4e-2, 0.1],
    "lr_decay": [0.0, 1e-4, 1e-3, 1e-2, 0.1],
    "initial_accumulator_value": [0.0, 0.1, 1.0],
    "damping": [0.0, 1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0],
    "loss_scale": [1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0, 1000.0],
    "noise": [0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0],
    "keep": [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0],
    "radius": [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0],
    "bands": [1, 5, 10, 20, 50],
}
LABELS = {
    "lr": "α (learning rate)", "beta1": "β₁", "beta2": "β₂", "eps": "ε", "momentum": "momentum μ",
    "dampening": "dampening τ", "weight_decay": "weight decay λ", "rho": "ρ (decay)",
    "momentum_decay": "momentum decay ψ", "lr_decay": "α decay η",
    "initial_accumulator_value": "initial accumulator G₀", "damping": "damping δ",
    "bias_correction": "bias correction", "centered": "centred", "saddle_free": "saddle-free (|H|)",
}
HELP = {
    "beta2": "RMSprop's decay is called β₂ here (PyTorch calls it alpha).",
    "eps": "Added outside the square root, as in PyTorch.",
    "bias_correction": "Divide m by 1−β₁ᵗ and v by 1−β₂ᵗ (Adam's Algorithm 1).",
    "loss_scale": "Minimise k·f instead of f (the path is drawn on f).",
}

# The page's starting α per optimizer on the default scene (shown in every panel and legend; PyTorch's
# defaults are used for everything else). PyTorch's α for SGD (1e-3) barely moves on Rosenbrock.
PAGE_LR = {"sgd": 1e-3, "momentum": 1e-3, "nesterov": 1e-3, "adagrad": 0.5, "rmsprop": 0.01,
           "adadelta": 1.0, "adam": 0.05, "adamw": 0.05, "amsgrad": 0.05, "adamax": 0.05, "nadam": 0.05,
           "radam": 0.05, "lion": 0.01, "newton": 1.0}


def fmt(value) -> str:
    """How a value is written in labels and in the URL: the shortest exact decimal."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.10g}"


def grid_with(key: str, extra=()) -> list:
    """The grid for ``key`` with extra exact values merged in, sorted."""
    values = set(GRIDS[key]) | {float(v) for v in extra if isinstance(v, (int, float)) and math.isfinite(v)}
    return sorted(values)


def nearest(options: list, value) -> float:
    """The option closest to ``value`` (on a log scale for positive grids)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return options[0]
    if not math.isfinite(v):
        return options[0]
    if min(options) > 0 and v > 0:
        return min(options, key=lambda o: abs(math.log(o) - math.log(v)))
    return min(options, key=lambda o: abs(o - v))


def instance_ids(names) -> list[str]:
    """Every selectable optimizer instance: adam, adam-2, adam-3, …"""
    return [n if i == 1 else f"{n}-{i}" for n in names for i in range(1, INSTANCES + 1)]


def base_name(instance: str) -> str:
    return instance.split("-")[0]


def instance_label(instance: str, label: str) -> str:
    n = instance.split("-")[1] if "-" in instance else ""
    return f"{label} #{n}" if n else label
