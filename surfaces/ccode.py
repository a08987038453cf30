"""A surface's value and gradient as C statements, for the optimizers' compiled engine.

The statements come from the same common subexpressions and are printed by the same rules as the NumPy
functions (``base``): a sum starts with a positive term, a small whole power is a product, so on
polynomial surfaces the C code performs the NumPy code's operations in the same order. Functions are
libm's (NumPy's exp, sin … may differ from them in the last bit). A surface with a function the C
printer does not know (the typed formulas' stand-ins for |u|, min, max, sign) has no C form.
"""
from __future__ import annotations

import re

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


# Defence in depth for typed formulas: the printed text may hold only these names and characters (the
# tree it comes from is allow-listed already, see ``expression``), or the surface has no C form.
_TOKEN = re.compile(r"\s+|0x[0-9a-f]+(?:\.[0-9a-f]*)?p[+-]?\d+|\d+(?:\.\d*)?(?:e[+-]?\d+)?|[A-Za-z_]\w*|.")
_NAMES = {"x", "y", "t", "f", "fx", "fy", "const", "double", "M_PI", "M_E", "sqrt", "cbrt", "pow", "exp", "log",
          "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh",
          "fabs", "fmod", "floor", "ceil", "exp2", "log2", "log10", "log1p", "expm1", "hypot"}
_GENERATED = re.compile(r"(x|_b)\d+")
_PUNCTUATION = set("+-*/()=;?:<>!&|.,")


def _safe(text: str) -> bool:
    if "/*" in text or "//" in text:
        return False
    for tok in _TOKEN.findall(text):
        if tok.isspace() or tok[0].isdigit():
            continue
        if tok[0].isalpha() or tok[0] == "_":
            if tok not in _NAMES and not _GENERATED.fullmatch(tok):
                return False
        elif tok not in _PUNCTUATION:
            return False
    return True


def c_statements(expr) -> dict | None:
    """C statements of a surface's expression, reading ``x``, ``y``, ``t`` (doubles) and assigning doubles:
    ``value`` (``f``), ``grad`` (``fx``, ``fy``) and ``value_and_grad`` (all three, sharing
    subexpressions); None if the expression has no C form."""
    grads = [sp.diff(expr, s) for s in (X, Y)]
    try:
        code = {"value": _block([expr], ["f"]),
                "grad": _block(grads, ["fx", "fy"], value=expr, with_value=False),
                "value_and_grad": _block(grads, ["f", "fx", "fy"], value=expr)}
    except Exception:  # a function the C printer lacks (strict printing raises): no C form
        return None
    return code if all(map(_safe, code.values())) else None


__all__ = ["c_statements"]
