"""The Surface type: one SymPy expression, compiled once into NumPy value, gradient and Hessian.

Every callable takes points with the coordinate on the last axis, ``xy[..., 0]`` is x and ``xy[..., 1]``
is y, so the same function evaluates a batch of runs ``(K, 2)`` and a meshgrid stack ``(ny, nx, 2)``.
A surface may depend on the step ``t`` (a time-varying objective); the callables then take ``t`` too
(``f(xy, t)``), and every surface accepts it, ignoring it when it is static.

Derivatives are exact: ``sympy.diff`` of the expression, compiled by ``sympy.lambdify``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import sympy as sp

X, Y, T = sp.symbols("x y t", real=True)

Box = tuple[tuple[float, float], tuple[float, float]]


def _broadcast(parts, x):
    """Stack lambdify's outputs on a new last axis; constants come back as scalars, so broadcast them."""
    shape = np.shape(x)
    return np.stack([np.broadcast_to(np.asarray(p, dtype=float), shape) for p in parts], axis=-1)


@dataclass(frozen=True, eq=False)
class Surface:
    """A 2-D loss surface f(x, y) with exact derivatives.

    ``minima`` holds every known local minimum (M, 2) and ``f_min`` the global minimum value over the
    domain (``-inf`` where f is unbounded below, as for a saddle). ``bounds``, when set, is a box the
    run loop projects iterates onto (a constrained problem)."""

    name: str
    label: str
    expr: sp.Expr
    domain: Box
    minima: np.ndarray
    f_min: float
    start: tuple[float, float]
    saddles: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    group: str = "Classic"
    params: tuple[tuple[str, float], ...] = ()
    bounds: Box | None = None
    note: str = ""
    latex: str = ""
    f: Callable = field(init=False, repr=False)
    grad: Callable = field(init=False, repr=False)
    hessian: Callable = field(init=False, repr=False)

    def __post_init__(self):
        expr = self.expr
        free = expr.free_symbols - {X, Y, T}
        if free:
            raise ValueError(f"surface {self.name!r}: unexpected symbols {sorted(map(str, free))}")
        grad_exprs = [sp.diff(expr, s) for s in (X, Y)]
        hess_exprs = [sp.diff(g, s) for g in grad_exprs for s in (X, Y)]
        args = (X, Y, T)
        f_num = sp.lambdify(args, expr, modules="numpy", cse=True)
        g_num = sp.lambdify(args, grad_exprs, modules="numpy", cse=True)
        h_num = sp.lambdify(args, hess_exprs, modules="numpy", cse=True)

        def f(xy, t=0):
            xy = np.asarray(xy, dtype=float)
            x = xy[..., 0]
            return np.broadcast_to(np.asarray(f_num(x, xy[..., 1], t), dtype=float), x.shape).copy()

        def grad(xy, t=0):
            xy = np.asarray(xy, dtype=float)
            return _broadcast(g_num(xy[..., 0], xy[..., 1], t), xy[..., 0])

        def hessian(xy, t=0):
            xy = np.asarray(xy, dtype=float)
            h = _broadcast(h_num(xy[..., 0], xy[..., 1], t), xy[..., 0])
            return h.reshape(h.shape[:-1] + (2, 2))

        set_ = object.__setattr__
        set_(self, "f", f)
        set_(self, "grad", grad)
        set_(self, "hessian", hessian)
        set_(self, "minima", np.asarray(self.minima, dtype=float).reshape(-1, 2))
        set_(self, "saddles", np.asarray(self.saddles, dtype=float).reshape(-1, 2))
        if not self.latex:
            set_(self, "latex", sp.latex(expr))

    @property
    def time_varying(self) -> bool:
        return T in self.expr.free_symbols

    @property
    def span(self) -> float:
        (x0, x1), (y0, y1) = self.domain
        return float(max(x1 - x0, y1 - y0))

    def grid(self, n: int = 200, t: int = 0):
        """Values on an n×n grid over the domain: (xs (n,), ys (n,), Z (n, n)) with Z[i, j] = f(xs[j], ys[i])."""
        (x0, x1), (y0, y1) = self.domain
        xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
        with np.errstate(all="ignore"):
            z = self.f(np.stack(np.meshgrid(xs, ys), axis=-1), t)
        return xs, ys, z

    def nearest_minimum(self, xy):
        """Index of and distance to the nearest known minimum for points (..., 2); (-1, nan) if none."""
        xy = np.asarray(xy, dtype=float)
        if len(self.minima) == 0:
            return np.full(xy.shape[:-1], -1), np.full(xy.shape[:-1], np.nan)
        d = np.linalg.norm(xy[..., None, :] - self.minima, axis=-1)
        return d.argmin(axis=-1), d.min(axis=-1)


def newton_refine(surface_grad, surface_hessian, points, iters: int = 50):
    """Polish approximate critical points with Newton's method on the exact gradient (used once at build
    time, so recorded minima and saddles are exact to rounding rather than to the digits someone typed)."""
    p = np.array(points, dtype=float).reshape(-1, 2)
    for _ in range(iters):
        g = surface_grad(p)
        h = surface_hessian(p)
        det = h[:, 0, 0] * h[:, 1, 1] - h[:, 0, 1] * h[:, 1, 0]
        solvable = np.abs(det) > 0  # an exact, degenerate critical point (monkey saddle) stays put
        safe = np.where(solvable, det, 1.0)
        step = np.stack([h[:, 1, 1] * g[:, 0] - h[:, 0, 1] * g[:, 1],
                         h[:, 0, 0] * g[:, 1] - h[:, 1, 0] * g[:, 0]], axis=-1) / safe[:, None]
        step[~solvable] = 0.0
        p = p - step
        if np.all(np.abs(step) < 1e-15 * (1 + np.abs(p))):
            break
    return p
