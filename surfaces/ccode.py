"""A surface's value and gradient as C statements, for the optimizers' compiled engine.

The statements come from the same common subexpressions and are printed by the same rules as the NumPy
functions (``base``): a sum starts with a positive term, a small whole power is a product, so on
polynomial surfaces the C code performs the NumPy code's operations in the same order. Functions are
libm's (NumPy's exp, sin … may differ from them in the last bit). A surface with a function the C
printer does not know (the typed formulas' stand-ins for |u|, min, max, sign) has no C form.
"""
from __future__ import annotations

import sympy as sp
from sympy.printing.c import C99CodePrinter

from .base import X, Y, _print_add_positive_first, _print_pow_as_products, common_subexpressions


class _CCode(C99CodePrinter):
    _print_Add = _print_add_positive_first

    def _print_Pow(self, expr):
        n = expr.exp
        if n.is_Integer and 2 <= abs(int(n)) <= 8:
            return _print_pow_as_products(self, expr)
        return super()._print_Pow(expr)

    def _print_Float(self, expr):
        return float(expr).hex()                     # exact, as the NumPy code's Python float


def _block(exprs, outs, value=None, with_value=True) -> str:
    """Assignments to ``outs`` after the common subexpressions, which keep SymPy's names (x0, x1, …, _b0):
    the names decide the order of a product's factors, so they must be the NumPy code's."""
    subs, results = common_subexpressions(exprs, value, with_value)
    printer = _CCode({"strict": True})
    lines = [f"const double {sym} = {printer.doprint(e)};" for sym, e in subs]
    lines += [f"{out} = {printer.doprint(e)};" for out, e in zip(outs, results)]
    return "\n".join(lines)


def c_statements(expr) -> dict | None:
    """C statements of a surface's expression, reading ``x``, ``y``, ``t`` (doubles) and assigning doubles:
    ``value`` (``f``), ``grad`` (``fx``, ``fy``) and ``value_and_grad`` (all three, sharing
    subexpressions); None if the expression has no C form."""
    grads = [sp.diff(expr, s) for s in (X, Y)]
    try:
        return {"value": _block([expr], ["f"]),
                "grad": _block(grads, ["fx", "fy"], value=expr, with_value=False),
                "value_and_grad": _block(grads, ["f", "fx", "fy"], value=expr)}
    except Exception:  # a function the C printer lacks (strict printing raises): no C form
        return None


__all__ = ["c_statements"]
