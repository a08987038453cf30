"""The built-in surfaces: each is one SymPy expression with its domain, known minima and a default start.

Minima and saddle points are written to a few digits from the literature and polished once, at build
time, by Newton's method on the exact gradient (``newton_refine``), so what is recorded is exact to
rounding. Where a minimum value is a known constant (Rosenbrock's 0, Goldstein–Price's 3) the
expression is written so that the value at the minimum is that constant exactly.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy as sp

from .base import T, X, Y, Surface, newton_refine

x, y = X, Y


@dataclass(frozen=True)
class Param:
    """A numeric parameter of a surface family, with the range the page offers."""

    name: str
    label: str
    default: float
    lo: float
    hi: float


def _make(name, label, expr, domain, start, minima=(), saddles=(), f_min=None, **kw) -> Surface:
    """Build a Surface, polishing the typed minima/saddles and taking f_min from the best minimum."""
    draft = Surface(name=name, label=label, expr=expr, domain=domain, minima=np.zeros((0, 2)),
                    f_min=-math.inf, start=start, **kw)
    mins = newton_refine(draft.grad, draft.hessian, minima) if len(minima) else np.zeros((0, 2))
    sads = newton_refine(draft.grad, draft.hessian, saddles) if len(saddles) else np.zeros((0, 2))
    if f_min is None:
        f_min = float(draft.f(mins).min()) if len(mins) else -math.inf
    return Surface(name=name, label=label, expr=expr, domain=domain, minima=mins, f_min=f_min,
                   start=start, saddles=sads, **kw)


# ---- the four the product is known for ------------------------------------------------------------

def bowl(condition: float = 10.0, rotation: float = 30.0) -> Surface:
    """f = ½(u² + κ v²) with (u, v) the point rotated by θ degrees: κ = 1 is a round bowl."""
    th = math.radians(rotation)
    c, s = sp.Float(math.cos(th)), sp.Float(math.sin(th))
    u, v = c * x + s * y, -s * x + c * y
    return _make("bowl", "Quadratic bowl", (u**2 + sp.Float(condition) * v**2) / 2,
                 ((-3, 3), (-3, 3)), (-2.5, 2.0), minima=[(0, 0)], f_min=0.0, group="Basic",
                 params=(("condition", condition), ("rotation", rotation)),
                 latex=r"\tfrac12\,(u^2 + \kappa v^2)",
                 note="(u, v) is the point (x, y) rotated by θ; κ = 1 is a round bowl.")


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Surface:
    return _make("rosenbrock", "Rosenbrock", (sp.Float(a) - x)**2 + sp.Float(b) * (y - x**2)**2,
                 ((-2, 2), (-1, 3)), (-1.5, 2.5), minima=[(a, a * a)], f_min=0.0, group="Basic",
                 params=(("a", a), ("b", b)),
                 latex=rf"({a:g} - x)^2 + {b:g}\,(y - x^2)^2")


def saddle() -> Surface:
    return _make("saddle", "Saddle", x**2 - y**2, ((-2, 2), (-2, 2)), (-1.8, 0.05),
                 saddles=[(0, 0)], group="Basic", note="Unbounded below: no minimum.")


def ravine() -> Surface:
    return _make("ravine", "Curved ravine", x**2 / 10 + 10 * (y - sp.sin(x))**2,
                 ((-4, 4), (-2.5, 2.5)), (-3.5, 0.5), minima=[(0, 0)], f_min=0.0, group="Basic",
                 note="A narrow valley along y = sin x: steep across, gentle along.")


# ---- classic test functions -------------------------------------------------------------------------

def beale() -> Surface:
    e = (sp.Rational(3, 2) - x + x * y)**2 + (sp.Rational(9, 4) - x + x * y**2)**2 \
        + (sp.Rational(21, 8) - x + x * y**3)**2
    return _make("beale", "Beale", e, ((-4.5, 4.5), (-4.5, 4.5)), (-1.0, 1.5),
                 minima=[(3, 0.5)], f_min=0.0)


def himmelblau() -> Surface:
    return _make("himmelblau", "Himmelblau", (x**2 + y - 11)**2 + (x + y**2 - 7)**2,
                 ((-5, 5), (-5, 5)), (-0.5, -0.5),
                 minima=[(3, 2), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)],
                 saddles=[(0.086677, 2.884254), (-3.073026, -0.081353), (3.385154, 0.073852),
                          (-0.127961, -1.953715)], f_min=0.0, note="Four global minima.")


def booth() -> Surface:
    return _make("booth", "Booth", (x + 2 * y - 7)**2 + (2 * x + y - 5)**2,
                 ((-10, 10), (-10, 10)), (-8.0, -8.0), minima=[(1, 3)], f_min=0.0)


def goldstein_price() -> Surface:
    e = (1 + (x + y + 1)**2 * (19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2)) \
        * (30 + (2 * x - 3 * y)**2 * (18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2))
    return _make("goldstein_price", "Goldstein–Price", e, ((-2, 2), (-2, 2)), (1.0, 1.5),
                 minima=[(0, -1), (-0.6, -0.4), (1.8, 0.2), (1.2, 0.8)], f_min=3.0,
                 note="Global minimum 3 at (0, −1) and three local minima.")


def six_hump_camel() -> Surface:
    e = (4 - sp.Rational(21, 10) * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2
    return _make("six_hump_camel", "Six-hump camel", e, ((-2.5, 2.5), (-1.5, 1.5)), (-2.0, -1.0),
                 minima=[(0.0898, -0.7126), (-0.0898, 0.7126), (-1.7036, 0.7961), (1.7036, -0.7961),
                         (-1.6071, -0.5687), (1.6071, 0.5687)],
                 note="Two global minima and four local ones.")


def matyas() -> Surface:
    return _make("matyas", "Matyas", sp.Rational(26, 100) * (x**2 + y**2) - sp.Rational(48, 100) * x * y,
                 ((-10, 10), (-10, 10)), (-8.0, 6.0), minima=[(0, 0)], f_min=0.0)


ACKLEY_DELTA = 1e-3


def ackley() -> Surface:
    """Ackley with its cone tip rounded over a radius δ = 1e-3, so the gradient and Hessian exist at the
    origin; the constant is shifted so that f(0, 0) = 0 exactly."""
    d = sp.Float(ACKLEY_DELTA)
    r = sp.sqrt((x**2 + y**2) / 2 + d**2)
    e = 20 * sp.exp(-d / 5) - 20 * sp.exp(-r / 5) \
        - sp.exp((sp.cos(2 * sp.pi * x) + sp.cos(2 * sp.pi * y)) / 2) + sp.E
    return _make("ackley", "Ackley", e, ((-4, 4), (-4, 4)), (-3.2, 2.6), minima=[(0, 0)], f_min=0.0,
                 group="Many minima",
                 latex=r"-20\,e^{-0.2\sqrt{(x^2+y^2)/2 + \delta^2}} - e^{(\cos 2\pi x + \cos 2\pi y)/2}"
                       r" + e + 20\,e^{-0.2\delta},\ \ \delta = 10^{-3}",
                 note="The cone tip at the origin is rounded over a radius of 0.001 so that the "
                      "gradient exists there.")


def rastrigin() -> Surface:
    e = 20 + x**2 - 10 * sp.cos(2 * sp.pi * x) + y**2 - 10 * sp.cos(2 * sp.pi * y)
    return _make("rastrigin", "Rastrigin", e, ((-5.12, 5.12), (-5.12, 5.12)), (-4.5, 3.5),
                 minima=[(0, 0)], f_min=0.0, group="Many minima",
                 note="A local minimum near every integer point; the global one is at the origin.")


def monkey_saddle() -> Surface:
    return _make("monkey_saddle", "Monkey saddle", x**3 - 3 * x * y**2, ((-2, 2), (-2, 2)), (1.5, 0.2),
                 saddles=[(0, 0)], group="Saddles and plateaus",
                 note="A degenerate saddle with three valleys; unbounded below.")


def plateau() -> Surface:
    return _make("plateau", "Plateau with a small well", 1 - sp.exp(-((x - 1)**2 + (y - 1)**2) / 2),
                 ((-5, 5), (-5, 5)), (-3.0, -2.0), minima=[(1, 1)], f_min=0.0,
                 group="Saddles and plateaus",
                 note="Far from the well the gradient is tiny: plain gradient descent barely moves.")


def gaussian_wells() -> Surface:
    e = sp.Rational(1, 20) * (x**2 + y**2) - sp.exp(-((x - sp.Rational(3, 2))**2 + (y - 1)**2)) \
        - sp.Rational(7, 10) * sp.exp(-((x + sp.Rational(3, 2))**2 + (y + 1)**2) / sp.Rational(3, 4))
    return _make("gaussian_wells", "Two Gaussian wells", e, ((-4, 4), (-4, 4)), (-3.0, 0.5),
                 minima=[(1.42, 0.95), (-1.42, -0.95)], saddles=[(-0.08, -0.05)],
                 group="Many minima",
                 note="A deep (global) well and a shallower local one, separated by a saddle.")


def styblinski_tang() -> Surface:
    e = (x**4 - 16 * x**2 + 5 * x + y**4 - 16 * y**2 + 5 * y) / 2
    return _make("styblinski_tang", "Styblinski–Tang", e, ((-5, 5), (-5, 5)), (0.5, 4.5),
                 minima=[(-2.903534, -2.903534), (2.746803, -2.903534), (-2.903534, 2.746803),
                         (2.746803, 2.746803)], group="Many minima",
                 note="One global minimum and three local ones.")


# ---- teaching problems --------------------------------------------------------------------------------

def reddi(C: float = 3.0) -> Surface:
    """Reddi, Kale & Kumar (2018), Section 3: on x ∈ [−1, 1], f_t(x) = C·x when t mod 3 = 1, else −x.
    The average loss (C − 2)/3 · x is minimised at x = −1; y plays no part."""
    expr = sp.Piecewise((sp.Float(C) * x, sp.Eq(sp.Mod(T, 3), 1)), (-x, True)) + 0 * y
    return Surface(name="reddi", label="Reddi et al. online problem", expr=expr,
                   domain=((-1, 1), (-1, 1)), minima=[(-1.0, 0.0)], f_min=-math.inf, start=(0.0, 0.0),
                   group="Teaching", params=(("C", C),), bounds=((-1, 1), (-1, 1)),
                   latex=rf"f_t(x) = \begin{{cases}} {C:g}\,x & t \bmod 3 = 1 \\ -x & \text{{otherwise}}"
                         r"\end{cases},\quad x \in [-1, 1]",
                   note="A time-varying objective: the loss changes with the step t. Iterates are "
                        "projected onto [−1, 1]. The best fixed point is x = −1.")


def long_valley() -> Surface:
    """A long valley with an even slope: along x the loss falls by about 1 per unit of x until close to
    the minimum at (5, 0), so the gradient keeps its size for hundreds of steps (AdaGrad's sum of
    squared gradients keeps growing there, RMSprop's average does not)."""
    e = sp.sqrt(1 + (x - 5)**2) - 1 + 5 * y**2
    return _make("long_valley", "Long sloping valley", e, ((-6, 6), (-3, 3)), (-5.0, 1.5),
                 minima=[(5, 0)], f_min=0.0, group="Teaching",
                 latex=r"\sqrt{1 + (x-5)^2} - 1 + 5y^2",
                 note="The slope along x stays close to 1 until x ≈ 4: the gradient does not shrink "
                      "on the way down.")


def offset_bowl(condition: float = 100.0) -> Surface:
    """f = ½(κ(x − 1.5)² + (y − 1.5)²): an axis-aligned bowl, steep in x and gentle in y, whose minimum
    is away from the origin, so that weight decay (a pull toward the origin) has something to move."""
    c = sp.Rational(3, 2)
    return _make("offset_bowl", "Off-centre bowl", (sp.Float(condition) * (x - c)**2 + (y - c)**2) / 2,
                 ((-3, 3), (-3, 3)), (-2.0, -2.0), minima=[(1.5, 1.5)], f_min=0.0, group="Teaching",
                 params=(("condition", condition),),
                 latex=rf"\tfrac12\left({condition:g}\,(x - 1.5)^2 + (y - 1.5)^2\right)",
                 note="Minimum at (1.5, 1.5); the curvature in x is κ times that in y.")


# ---- registry ---------------------------------------------------------------------------------------

PARAMS: dict[str, tuple[Param, ...]] = {
    "bowl": (Param("condition", "condition number κ", 10.0, 1.0, 1000.0),
             Param("rotation", "rotation θ (degrees)", 30.0, -90.0, 90.0)),
    "rosenbrock": (Param("a", "a", 1.0, -1.5, 1.5), Param("b", "b", 100.0, 1.0, 200.0)),
    "reddi": (Param("C", "C (size of the rare positive gradient)", 3.0, 2.0, 1000.0),),
    "offset_bowl": (Param("condition", "steepness κ of x against y", 100.0, 1.0, 1000.0),),
}

BUILDERS = {f.__name__: f for f in (
    bowl, rosenbrock, saddle, ravine, beale, himmelblau, booth, goldstein_price, six_hump_camel,
    matyas, ackley, rastrigin, monkey_saddle, plateau, gaussian_wells, styblinski_tang, reddi,
    long_valley, offset_bowl)}


def names() -> list[str]:
    """Keys of the built-in surfaces, in the order the page lists them."""
    return list(BUILDERS)


def params(name: str) -> tuple[Param, ...]:
    """The parameters a surface family takes (empty for fixed surfaces)."""
    _check_name(name)
    return PARAMS.get(name, ())


def _check_name(name):
    if name not in BUILDERS:
        raise ValueError(f"unknown surface {name!r}; choose from {', '.join(BUILDERS)}")


def get(name: str, **kwargs) -> Surface:
    """The built-in surface ``name``, with parameters (e.g. ``get("bowl", condition=100)``)."""
    _check_name(name)
    spec = {p.name: p for p in PARAMS.get(name, ())}
    values = {}
    for key, value in kwargs.items():
        if key not in spec:
            takes = ", ".join(spec) or "no parameters"
            raise ValueError(f"surface {name!r} has no parameter {key!r}; it takes {takes}")
        p = spec[key]
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name}: {key} must be a number, got {value!r}") from None
        if not p.lo <= value <= p.hi:
            raise ValueError(f"{name}: {key} must be in [{p.lo:g}, {p.hi:g}], got {value:g}")
        values[key] = value
    full = tuple((p.name, values.get(p.name, p.default)) for p in spec.values())
    return _build(name, full)


@lru_cache(maxsize=64)
def _build(name: str, full_params: tuple) -> Surface:
    return BUILDERS[name](**dict(full_params))
