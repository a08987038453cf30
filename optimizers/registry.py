"""The 14 optimizers by name: ``names()`` and ``get(name, **hyper)``."""
from __future__ import annotations

from . import adadelta, adagrad, adam, adamax, lion, nadam, newton, radam, rmsprop, sgd
from .base import HYPERS, Optimizer, Variant, check_hyper

FAMILIES = (sgd, adagrad, rmsprop, adadelta, adam, adamax, nadam, radam, lion, newton)
ORDER = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "amsgrad",
         "adamax", "nadam", "radam", "lion", "newton")
RULES = {name: (module, variant) for module in FAMILIES for name, variant in module.VARIANTS.items()}
assert tuple(sorted(RULES)) == tuple(sorted(ORDER))


def names() -> list[str]:
    """The optimizers' keys, in the order the page lists them."""
    return list(ORDER)


def variant(name: str) -> Variant:
    """Label, defaults (PyTorch's), LaTeX rule and paper of an optimizer."""
    _check(name)
    return RULES[name][1]


def _check(name):
    if name not in RULES:
        raise ValueError(f"unknown optimizer {name!r}; choose from {', '.join(ORDER)}")


def get(name: str, **hyper) -> Optimizer:
    """The optimizer ``name`` with PyTorch's defaults, overridden by ``hyper``.

    Each hyperparameter may be a number or an array of shape (K,), one value per run::

        get("adam", lr=np.logspace(-3, 0, 50))   # 50 runs sweeping α in one batch
    """
    _check(name)
    module, var = RULES[name]
    for key in hyper:
        if key not in var.defaults:
            raise ValueError(f"{name} has no hyperparameter {key!r}; it takes {', '.join(var.defaults)}")
    values = {key: check_hyper(name, key, hyper.get(key, default)) for key, default in var.defaults.items()}
    if values.get("centered") and values.get("bias_correction"):
        raise ValueError(f"{name}: centered and bias_correction cannot be combined: at t = 1 the corrected "
                         "mean square equals the corrected mean squared, so the variance is 0")
    return Optimizer(name=name, label=var.label, hyper=values, rule=module, variant=var)


__all__ = ["names", "get", "variant", "HYPERS"]
