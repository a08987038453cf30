"""The optimizer contract.

An optimizer rule is a pair of functions over batches of K points, shape (K, 2):

    init(xy, h) -> state                       # a NamedTuple, e.g. State(m, v)
    update(g, state, s, h) -> (delta, state, aux)

``g`` is the gradient at ``s.xy`` (K, 2); ``s`` is the :class:`Step` (t counts from 1, ``lr`` is α at this
step after any schedule, ``xy`` the current points, ``hessian`` the surface's exact Hessian, ``internals``
whether the caller wants ``aux``); ``h`` holds the hyperparameters, each a Python scalar or an array of
shape (K, 1) (one value per run); ``delta`` is added to ``xy`` by the run loop; ``aux`` names what the page
may plot (``m``, ``v``, ``m_hat``, ``v_hat``, ``v_max``, ``lr_eff`` …), as in the papers, and may be empty
when ``s.internals`` is False (so nothing is computed only to be thrown away).

State is updated in place. ``update`` may overwrite the arrays of the state it is given (``m *= β₁``)
and returns the state to use next; it never writes into ``g`` or ``s.xy`` and keeps no reference to ``g``
(the run loop reuses that buffer). Each state field is an array with the run on its first axis, or a
float shared by all runs. :meth:`Optimizer.update`, the entry point for notebooks, copies the state
first, so there ``update`` is a pure function and old states stay valid.

The same rule code also runs on plain Python floats, one coordinate of one run at a time (the run loop's
fast path for a handful of runs): ``xy``, ``g`` and every state field are then floats. Augmented
assignments (``m *= β₁``) update arrays in place and rebind floats; :func:`sqrt`, :func:`maximum`,
:func:`sign`, :func:`where`, :func:`zeros`, :func:`copy` and :func:`f32` below choose NumPy or
``math``. A rule that couples the two coordinates (Newton) sets ``ELEMENTWISE = False``.

A module holds one family: its rules as LaTeX (the text the page shows, also appended to the module's
docstring), a ``VARIANTS`` table (name → label, PyTorch's default hyperparameters, fixed flags) and
``init``/``update``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Callable, Mapping, NamedTuple

import numpy as np


class Step(NamedTuple):
    t: int
    lr: Any
    xy: np.ndarray
    hessian: Callable | None = None
    internals: bool = True


# ---- arithmetic for arrays and for plain floats -------------------------------------------------------
# Each helper is NumPy's function on arrays and the same number on a Python float (the float test is a
# class check, the cheapest there is: these run once per coordinate per step on the fast path).

def sqrt(a):
    """√a (NaN for a < 0, as NumPy)."""
    if a.__class__ is float:
        return math.sqrt(a) if a >= 0.0 else math.nan
    return np.sqrt(a)


def maximum(a, b):
    """Elementwise max; NaN if either is NaN (np.maximum)."""
    if a.__class__ is float and b.__class__ is float:
        return a if a > b or a != a else b
    return np.maximum(a, b)


def sign(a):
    """−1, 0 or 1 (NaN stays NaN), as np.sign."""
    if a.__class__ is float:
        return 1.0 if a > 0.0 else -1.0 if a < 0.0 else a if a != a else 0.0
    return np.sign(a)


def where(cond, a, b):
    """``a`` where ``cond`` else ``b``; a plain bool picks one without copying."""
    if cond.__class__ is bool:
        return a if cond else b
    return np.where(cond, a, b)


def zeros(xy):
    """A fresh zero state shaped like ``xy`` (each call its own array: state is updated in place)."""
    return 0.0 if xy.__class__ is float else np.zeros_like(xy)


def copy(a):
    """A copy of an array in the same memory layout (floats are values already)."""
    return a if a.__class__ is float else a.copy(order="K")


def f32(a):
    """``a`` rounded to float32 precision, kept as float64 (PyTorch's float32 scalars)."""
    if a.__class__ is float:
        return float(np.float32(a))
    if hasattr(a, "f32"):                 # a recorded value (optimizers.trace)
        return a.f32()
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def per_run(xy, value, *depends):
    """``value`` once per run, shape (K, 1), when one of ``depends`` differs per run; else a float."""
    if xy.__class__ is not float and any(isinstance(d, np.ndarray) for d in depends):
        return np.full((len(xy), 1), float(value))
    return float(value)


def is_zero(h) -> bool:
    """True for a hyperparameter that is the number 0 (not a per-run array)."""
    return h.__class__ is float and h == 0.0


def add_decay(u, xy, weight_decay):
    """u + λθ (``u`` itself when λ = 0): the L2 penalty's gradient added to a gradient or an update."""
    if weight_decay.__class__ is float and weight_decay == 0.0:
        return u
    return u + weight_decay * xy


@dataclass(frozen=True)
class Variant:
    """One named optimizer within a family module."""

    label: str
    defaults: Mapping[str, Any]
    latex: str
    paper: str
    flags: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HyperSpec:
    """What a hyperparameter means and which values are valid: [lo, hi] or [lo, hi)."""

    symbol: str
    lo: float = 0.0
    hi: float = math.inf
    hi_open: bool = False
    boolean: bool = False

    def describe(self) -> str:
        if self.boolean:
            return "True or False"
        if self.hi == math.inf:
            return f">= {self.lo:g}"
        return f"in [{self.lo:g}, {self.hi:g}{')' if self.hi_open else ']'}"

    def ok(self, v: np.ndarray) -> np.ndarray:
        upper = v < self.hi if self.hi_open else v <= self.hi
        return (v >= self.lo) & upper


BETA = dict(lo=0.0, hi=1.0, hi_open=True)
HYPERS: dict[str, HyperSpec] = {
    "lr": HyperSpec(r"\alpha"),
    "beta1": HyperSpec(r"\beta_1", **BETA),
    "beta2": HyperSpec(r"\beta_2", **BETA),
    "eps": HyperSpec(r"\varepsilon"),
    "momentum": HyperSpec(r"\mu", **BETA),
    "dampening": HyperSpec(r"\tau", 0.0, 1.0),
    "weight_decay": HyperSpec(r"\lambda"),
    "rho": HyperSpec(r"\rho", 0.0, 1.0),
    "momentum_decay": HyperSpec(r"\psi"),
    "lr_decay": HyperSpec(r"\eta"),
    "initial_accumulator_value": HyperSpec(r"G_0"),
    "damping": HyperSpec(r"\delta"),
    "bias_correction": HyperSpec("", boolean=True),
    "centered": HyperSpec("", boolean=True),
    "saddle_free": HyperSpec("", boolean=True),
}


def check_hyper(opt: str, key: str, value):
    """A validated hyperparameter: bool, float, or a float64 array of shape (K,) (one value per run)."""
    spec = HYPERS[key]
    if spec.boolean:
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        raise ValueError(f"{opt}: {key} must be True or False, got {value!r}")
    if isinstance(value, (bool, np.bool_, str, bytes)) or value is None:
        raise ValueError(f"{opt}: {key} must be a number, got {value!r}")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{opt}: {key} must be a number or a 1-D array of numbers, got {value!r}") from None
    if arr.ndim > 1 or arr.size == 0:
        raise ValueError(f"{opt}: {key} must be a number or a 1-D array (one value per run), "
                         f"got shape {arr.shape}")
    bad = ~(np.isfinite(arr) & spec.ok(arr))
    if bad.any():
        i = int(np.flatnonzero(bad.ravel())[0])
        where = f" (run {i})" if arr.ndim else ""
        raise ValueError(f"Invalid {key} for {opt}: {arr.ravel()[i]!r}{where}; {key} must be {spec.describe()}")
    return float(arr) if arr.ndim == 0 else arr


@dataclass(frozen=True, eq=False)
class Optimizer:
    """A named optimizer with validated hyperparameters; ``rule`` is its family module."""

    name: str
    label: str
    hyper: Mapping[str, Any]
    rule: Any
    variant: Variant

    @property
    def latex(self) -> str:
        return self.variant.latex

    @property
    def paper(self) -> str:
        return self.variant.paper

    @property
    def batch(self) -> int | None:
        """K when some hyperparameter is a per-run array, else None."""
        sizes = {len(v) for v in self.hyper.values() if isinstance(v, np.ndarray)}
        if len(sizes) > 1:
            raise ValueError(f"{self.name}: per-run hyperparameter arrays have different lengths {sorted(sizes)}")
        return sizes.pop() if sizes else None

    def bind(self, k: int) -> SimpleNamespace:
        """Hyperparameters and fixed flags as the rule reads them: arrays reshaped to (K, 1)."""
        b = self.batch
        if b is not None and b != k:
            raise ValueError(f"{self.name}: per-run hyperparameters have length {b} but there are {k} runs")
        vals = {key: (v[:, None] if isinstance(v, np.ndarray) else v) for key, v in self.hyper.items()}
        return SimpleNamespace(**self.variant.flags, **vals)

    def init(self, xy):
        xy = np.asarray(xy, dtype=float)
        return self.rule.init(xy, self.bind(len(xy)))

    def update(self, g, state, s: Step):
        """One step, as a pure function: ``state`` is copied before the rule updates it in place, so the
        state passed in (and every ``aux`` returned earlier) is left as it was."""
        fresh = type(state)(*(np.array(v, dtype=v.dtype) if isinstance(v, np.ndarray) else v for v in state))
        with np.errstate(all="ignore"):
            return self.rule.update(np.array(g, dtype=float), fresh, s, self.bind(len(s.xy)))


def with_rules(doc: str, variants: Mapping[str, Variant]) -> str:
    """The module docstring followed by each variant's rule, the same LaTeX the page shows."""
    parts = [doc.rstrip(), ""]
    for name, v in variants.items():
        parts += [f"{name} — {v.label} ({v.paper}):", "", "$$", v.latex, "$$", ""]
    return "\n".join(parts)
