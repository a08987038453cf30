"""The Surface type: one SymPy expression, compiled once into NumPy value, gradient and Hessian.

Every callable takes points with the coordinate on the last axis, ``xy[..., 0]`` is x and ``xy[..., 1]``
is y, so the same function evaluates a batch of runs ``(K, 2)`` and a meshgrid stack ``(ny, nx, 2)``.
A surface may depend on the step ``t`` (a time-varying objective); the callables then take ``t`` too
(``f(xy, t)``), and every surface accepts it, ignoring it when it is static.

Derivatives are exact: ``sympy.diff`` of the expression, compiled (as ``sympy.lambdify`` with ``cse=True``
would, see ``_compile``) into functions that write their results into preallocated arrays.
"""
from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.precedence import precedence
from sympy.printing.pycode import PythonCodePrinter

X, Y, T = sp.symbols("x y t", real=True)

Box = tuple[tuple[float, float], tuple[float, float]]


# ---- compiling expressions ------------------------------------------------------------------------
# One SymPy expression list becomes one Python function, like ``sympy.lambdify(..., cse=True)`` makes,
# with two differences that matter in the optimizer loop: each result is written into an output array
# (the last operation of each expression writes through ``out=``, so no temporary is copied), and a sum
# is printed with a positive term first (``y - x0`` is one subtraction, ``-x0 + y`` is a negation and an
# addition). The same text compiled with the ``math`` module evaluates one point on Python floats.

def _print_add_positive_first(self, expr, order=None):
    terms = list(self._as_ordered_terms(expr, order=order))
    printed = [self._print(term) for term in terms]
    first = next((i for i, p in enumerate(printed) if not p.startswith("-")), 0)
    terms.insert(0, terms.pop(first))
    prec = precedence(expr)
    parts = []
    for term in terms:
        s = self._print(term)
        sign = "+"
        if s.startswith("-") and not term.is_Add:
            sign, s = "-", s[1:]
        parts += [sign, f"({s})" if precedence(term) < prec or term.is_Add else s]
    sign = parts.pop(0)
    return ("" if sign == "+" else sign) + " ".join(parts)


def _print_pow_as_products(self, expr, rational=False):
    """b**n for a whole 2 ≤ |n| ≤ 8 as b*b*…*b: the same products on floats and arrays (pow differs in the
    last bit between NumPy and libm), cheaper than pow, and free of Python's OverflowError for ``**``."""
    n = expr.exp
    if n.is_Integer and 2 <= abs(int(n)) <= 8:
        base = expr.base
        if base.is_Symbol:
            text = "*".join([self._print(base)] * abs(int(n)))
        else:
            text = f"_ipow({self._print(base)}, {abs(int(n))})"
        return text if n > 0 else f"1/({text})"
    return type(self).__mro__[1]._print_Pow(self, expr, rational=rational)


def _ipow(b, n):
    """b*b*…*b (n factors), left to right."""
    r = b
    for _ in range(n - 1):
        r = r * b
    return r


def _print_float_exactly(self, expr):
    """The double a Float stands for, in full (SymPy prints 15 digits, which is not always that double;
    the C code of ``ccode`` prints the same double)."""
    return repr(float(expr))


class _NumPyCode(NumPyPrinter):
    _print_Add = _print_add_positive_first
    _print_Pow = _print_pow_as_products
    _print_Float = _print_float_exactly


class _MathCode(PythonCodePrinter):
    """Python floats and the math module; a function only NumPy knows (``_numpycode``) is called on floats."""

    _print_Add = _print_add_positive_first
    _print_Pow = _print_pow_as_products
    _print_Float = _print_float_exactly

    def _print_Function(self, expr):
        if hasattr(expr, "_numpycode"):
            return expr._numpycode(self)
        return super()._print_Function(expr)


_UFUNC_OF = {ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply", ast.Div: "true_divide"}


def _write(text: str, out: str) -> str:
    """An expression that evaluates ``text`` into the array ``out``, its last operation through ``out=``."""
    node = ast.parse(text, mode="eval").body
    if isinstance(node, ast.BinOp) and type(node.op) in _UFUNC_OF:
        a, b = ast.unparse(node.left), ast.unparse(node.right)
        return f"numpy.{_UFUNC_OF[type(node.op)]}({a}, {b}, out={out})"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and isinstance(node.right, ast.Constant):
        ufunc = {2: "square", 0.5: "sqrt"}.get(node.right.value)
        if ufunc:
            return f"numpy.{ufunc}({ast.unparse(node.left)}, out={out})"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return f"numpy.negative({ast.unparse(node.operand)}, out={out})"
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "numpy" and not node.keywords):
        fn = getattr(np, node.func.attr, None)
        if isinstance(fn, np.ufunc) and fn.nin == len(node.args) and fn.nout == 1:
            return f"numpy.{node.func.attr}({', '.join(map(ast.unparse, node.args))}, out={out})"
    return f"numpy.copyto({out}, {text})"


class _Into(sp.Function):
    """``_Into(e, out)`` prints as a statement-expression that evaluates e into the array ``out``."""

    def _numpycode(self, printer):
        return _write(printer._print(self.args[0]), printer._print(self.args[1]))


class _Float(sp.Function):
    """``_Float(e)`` prints as ``float(e)``: a Python float even where e is a whole-number constant."""

    def _pythoncode(self, printer):
        return f"float({printer._print(self.args[0])})"


def _name_power_bases(subs, results):
    """Give each base of a small whole power (b**2 … b**8) a name of its own, so that b*b*… evaluates b once."""
    names = iter(sp.numbered_symbols("_b"))
    out = []

    def name(e):
        def swap(p):
            sym = next(names)
            out.append((sym, p.base))
            return sp.Pow(sym, p.exp)
        return e.replace(lambda p: p.is_Pow and p.exp.is_Integer and 2 <= abs(int(p.exp)) <= 8
                         and not p.base.is_Symbol, swap)

    for sym, e in subs:
        e = name(e)
        out.append((sym, e))
    results = [name(e) for e in results]
    return out, results


_FLOAT_FUNCTIONS = (sp.exp, sp.log, sp.sin, sp.cos, sp.tan, sp.asin, sp.acos, sp.atan, sp.atan2, sp.sinh,
                    sp.cosh, sp.tanh, sp.asinh, sp.acosh, sp.atanh)


def _floats(subs) -> set:
    """The symbols that Python arithmetic on float x and y makes floats (so need no ``float(...)``)."""
    floaty = {X, Y}
    for sym, e in subs:
        if _is_float(e, floaty):
            floaty.add(sym)
    return floaty


def _is_float(e, floaty) -> bool:
    """Whether e is surely a Python float: arithmetic on float symbols and math functions returning floats
    (not a whole-number constant, not a branch of a Piecewise, not a NumPy function's np.float64)."""
    return (bool(e.free_symbols & floaty) and not e.has(sp.Piecewise)
            and all(isinstance(f, _FLOAT_FUNCTIONS) for f in e.atoms(sp.Function)))


def common_subexpressions(exprs, value=None, with_value: bool = True):
    """``(subs, results)`` of ``sympy.cse``, each base of a small whole power named. With ``value`` (f,
    when ``exprs`` is ∇f) the subexpressions are those of f and ∇f together and f is the first result;
    ``with_value=False`` leaves f out (and what only f needs), so ∇f is computed by the same operations
    with or without f."""
    exprs = list(exprs)
    if value is None:
        return _name_power_bases(*sp.cse(exprs))
    subs, results = sp.cse([value, *exprs])
    if not with_value:
        results = results[1:]
        needed = set().union(*(e.free_symbols for e in results))
        kept = []
        for sym, e in reversed(subs):
            if sym in needed:
                kept.append((sym, e))
                needed |= e.free_symbols
        subs = kept[::-1]
    return _name_power_bases(subs, results)


def _compile(exprs, scalar: bool = False, value=None, with_value: bool = True) -> Callable:
    """``k(x, y, t, out_0, …, out_n)`` writing each expression into its array, or, with ``scalar``,
    ``k(x, y, t) -> [float, …]``; ``value`` and ``with_value`` as in :func:`common_subexpressions`."""
    exprs = list(exprs)
    n_out = len(exprs) + (value is not None and with_value)
    outs = sp.symbols(f"_out0:{n_out}")

    def cse(_):
        subs, results = common_subexpressions(exprs, value, with_value)
        if scalar:
            floaty = _floats(subs)
            return subs, [e if _is_float(e, floaty) else _Float(e) for e in results]
        return subs, [_Into(e, o) for e, o in zip(results, outs)]

    if scalar:
        printer = _MathCode({"fully_qualified_modules": True, "allow_unknown_functions": True})
        return sp.lambdify((X, Y, T), exprs, modules=[{"math": math, "numpy": np, "_ipow": _ipow}, "math"],
                           printer=printer, cse=cse)
    printer = _NumPyCode({"allow_unknown_functions": True})
    return sp.lambdify((X, Y, T, *outs), exprs, modules=[{"_ipow": _ipow}, "numpy"], printer=printer, cse=cse)


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
        f_k = _compile([expr])
        g_k = _compile(self._grad_exprs, value=expr, with_value=False)
        h_k = _compile([sp.diff(g, s) for g in self._grad_exprs for s in (X, Y)])

        def f(xy, t=0):
            xy = np.asarray(xy, dtype=float)
            out = np.empty(xy.shape[:-1])
            f_k(xy[..., 0], xy[..., 1], t, out)
            return out

        def grad(xy, t=0):
            xy = np.asarray(xy, dtype=float)
            out = np.empty(xy.shape)
            g_k(xy[..., 0], xy[..., 1], t, out[..., 0], out[..., 1])
            return out

        def hessian(xy, t=0):
            xy = np.asarray(xy, dtype=float)
            out = np.empty(xy.shape + (2,))
            h_k(xy[..., 0], xy[..., 1], t, out[..., 0, 0], out[..., 0, 1], out[..., 1, 0], out[..., 1, 1])
            return out

        set_ = object.__setattr__
        set_(self, "f", f)
        set_(self, "grad", grad)
        set_(self, "hessian", hessian)
        set_(self, "minima", np.asarray(self.minima, dtype=float).reshape(-1, 2))
        set_(self, "saddles", np.asarray(self.saddles, dtype=float).reshape(-1, 2))
        if not self.latex:
            set_(self, "latex", sp.latex(expr))

    @cached_property
    def _grad_exprs(self):
        return [sp.diff(self.expr, s) for s in (X, Y)]

    @cached_property
    def _value_and_grad_kernel(self):
        return _compile(self._grad_exprs, value=self.expr)

    def value_and_grad_into(self, xy, t, f_out, g_out):
        """f and ∇f at the points ``xy`` (K, 2), written into ``f_out`` (K,) and ``g_out`` (K, 2) (the run
        loop's fast path: one pass shares the subexpressions of f and ∇f and allocates no result)."""
        self._value_and_grad_kernel(xy[:, 0], xy[:, 1], t, f_out, g_out[:, 0], g_out[:, 1])

    @cached_property
    def scalar_kernels(self):
        """``(f, grad, value_and_grad)`` of one point on Python floats, ``fn(x, y, t)`` returning floats, or
        None where the expression has no such form. The run loop's path for a single run uses them: they
        evaluate the same expression text as the NumPy callables, so the numbers agree to rounding."""
        try:
            kernels = (_compile([self.expr], scalar=True),
                       _compile(self._grad_exprs, scalar=True, value=self.expr, with_value=False),
                       _compile(self._grad_exprs, scalar=True, value=self.expr))
            probe = np.array([self.start, *self.minima[:3], (0.1234, -0.4321)], dtype=float)
            with np.errstate(all="ignore"):
                want = np.column_stack([self.f(probe, 1), self.grad(probe, 1)])
            for p, w in zip(probe, want):
                try:
                    got = kernels[2](float(p[0]), float(p[1]), 1)
                except (ArithmeticError, ValueError):
                    continue
                if not np.allclose(got, w, rtol=1e-9, atol=1e-9, equal_nan=True):
                    return None
            f1, g1 = kernels[0](0.5, 0.25, 1), kernels[1](0.5, 0.25, 1)
            if not (isinstance(f1[0], float) and all(isinstance(v, float) for v in g1)):
                return None
        except Exception:  # a function the math module lacks, a printer gap: NumPy it is
            return None
        f_s, g_s, fg_s = kernels
        return (lambda x, y, t: f_s(x, y, t)[0]), g_s, fg_s

    @cached_property
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
