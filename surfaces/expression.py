"""Build a Surface from a formula a person types, such as ``(1-x)^2 + 100*(y-x^2)^2``.

The text is never run as code and never handed to SymPy's string parsers. Python's ``ast.parse``
(in ``mode="eval"``) is used only to obtain a syntax tree; this module walks that tree itself and
builds the SymPy expression node by node with explicit constructors, refusing everything else.

Grammar (``^`` is accepted for a power and means the same as ``**``)::

    formula  := number | name | formula op formula | ("-" | "+") formula | "(" formula ")"
              | function "(" formula ["," formula] ")"
    op       := "+" | "-" | "*" | "/" | "^" | "**"
    number   := an int or float literal, such as 2, 0.5, 1e-3 (no complex, no True/False)
    name     := x | y | pi | e
    function := see FUNCTIONS below (each with a fixed number of positional arguments)

There is no implicit multiplication: ``2x`` is refused with a hint to write ``2*x``.

Caps, so that every call finishes quickly whatever is typed:

* at most ``MAX_LENGTH`` (500) characters, plain ASCII, one line, no NUL or other control characters;
* at most ``MAX_NODES`` (200) numbers, names, operations and calls;
* nesting at most ``MAX_DEPTH`` (30) levels (a long sum or product is one level, not one per term);
* number literals at most ``MAX_LITERAL`` (1e15) in size, and finite;
* a numeric exponent at most ``MAX_EXPONENT`` (100) in size; a power of two numbers, and every other
  part of the formula without x or y, must stay within ``MAX_MAGNITUDE`` (1e300) in size;
* the exact derivatives must stay small: an estimate of their size made before SymPy computes them
  is at most ``MAX_GRADIENT_SIZE`` (1000) nodes for the gradient and ``MAX_HESSIAN_SIZE`` (5000) for
  the Hessian (this refuses, e.g., products of many factors in x and y, or functions nested very deep);
* the domain's coordinates at most ``MAX_COORDINATE`` (1e6) in size.

Every refusal raises ``ExpressionError`` (a ``ValueError``) whose message is meant for the person who
typed the formula and gives the position (counting characters from 1) where that helps.

The expression is in ``base.X`` and ``base.Y``. Parts without x or y are built with SymPy's own
functions (so ``sin(pi/6)`` is ``1/2``) after their float value has been checked (finite, real, within
the caps). Functions of x and y are built as stand-ins that SymPy does not reason about (see below), so
that no formula under the caps can send SymPy into an unbounded symbolic computation.

``from_expression`` then estimates the minima numerically (local minima of a 200×200 grid over the
domain, polished by Newton's method on the exact derivatives) and picks a start point.
"""
from __future__ import annotations

import ast
import keyword
import math
import numbers
import re
from typing import NamedTuple

import numpy as np
import sympy as sp

from .base import X, Y, Surface, newton_refine

MAX_LENGTH = 500
MAX_NODES = 200
MAX_DEPTH = 30
MAX_LITERAL = 10**15
MAX_EXPONENT = 100
MAX_MAGNITUDE = 1e300
MAX_COORDINATE = 1e6
MAX_GRADIENT_SIZE = 1000  # estimated nodes of the two first derivatives (see _derivative_size)
MAX_HESSIAN_SIZE = 5000  # estimated nodes of the four second derivatives
MIN_SPAN = 1e-6
MAX_QUOTE = 40  # a message repeats at most this many characters of what was typed
DEFAULT_DOMAIN = ((-3.0, 3.0), (-3.0, 3.0))
GRID = 200
MAX_MINIMA = 8
NOTE = ("Minima estimated numerically (local minima of a 200×200 grid, polished by Newton's method); "
        "there may be others.")


class ExpressionError(ValueError):
    """A formula (or domain) that cannot be turned into a surface; the message is for the person who typed it."""


# ---- stand-ins for SymPy's functions of x and y ------------------------------------------------------
# SymPy's own sin, log, … reason symbolically about their argument when other expressions are built
# around them. Where it cannot tell that the argument is real (x^y, log(x), …) it splits it into real
# and imaginary parts, expanding it: ``sqrt(-sinh((tan(x^y) + y^x)^100))`` never finishes. For an
# argument with x or y the parser builds these stand-ins instead: declared real, never simplified, with
# their derivatives written out. Each class carries SymPy's name for the function, so the printers,
# lambdify (numpy.sin, …) and evalf (mpmath.sin, …) treat it exactly like SymPy's own.

class _RealFunction(sp.Function):
    """A real function of one real argument that SymPy treats as opaque."""

    nargs = 1
    is_extended_real = True

    def fdiff(self, argindex=1):
        return _DERIVATIVES[type(self).__name__](self.args[0])


def _real_function(name: str, **methods) -> type:
    return type(name, (_RealFunction,), {"__module__": __name__, "__doc__": f"{name}(u), opaque.",
                                         **methods})


def _exp_latex(self, printer, exp=None):
    tex = f"e^{{{printer._print(self.args[0])}}}"
    return tex if exp is None else rf"\left({tex}\right)^{{{exp}}}"


_REAL_FUNCTIONS = {name: _real_function(name) for name in
                   ("sin", "cos", "tan", "log", "sinh", "cosh", "tanh", "asin", "acos", "atan")}
_REAL_FUNCTIONS["exp"] = _real_function("exp", _latex=_exp_latex)
_DERIVATIVES = {
    "sin": lambda u: _REAL_FUNCTIONS["cos"](u),
    "cos": lambda u: -_REAL_FUNCTIONS["sin"](u),
    "tan": lambda u: 1 + _REAL_FUNCTIONS["tan"](u)**2,
    "exp": lambda u: _REAL_FUNCTIONS["exp"](u),
    "log": lambda u: 1 / u,
    "sinh": lambda u: _REAL_FUNCTIONS["cosh"](u),
    "cosh": lambda u: _REAL_FUNCTIONS["sinh"](u),
    "tanh": lambda u: 1 - _REAL_FUNCTIONS["tanh"](u)**2,
    "asin": lambda u: 1 / sp.sqrt(1 - u**2),
    "acos": lambda u: -1 / sp.sqrt(1 - u**2),
    "atan": lambda u: 1 / (1 + u**2),
}


# SymPy's Abs, Min and Max differentiate into sign/Heaviside and then into DiracDelta, which lambdify
# cannot turn into NumPy, and their constructors compare their arguments symbolically. These stand-ins
# have the same values and first derivatives, and a second derivative of 0 (true everywhere except on
# the kink).

class _Unary(sp.Function):
    """A one-argument stand-in printed from templates: ``numpy_name(u{numpy_extra})``, ``tex`` with
    ``{u}`` for the argument, and ``word(u)``."""

    nargs = 1
    numpy_name, numpy_extra, tex, word = "", "", "", ""

    def _numpycode(self, printer):
        return f"{printer._module_format(self.numpy_name)}({printer._print(self.args[0])}{self.numpy_extra})"

    def _latex(self, printer, exp=None):
        tex = self.tex.format(u=printer._print(self.args[0]))
        return tex if exp is None else rf"{tex}^{{{exp}}}"

    def _sympystr(self, printer):
        return f"{self.word}({printer._print(self.args[0])})"


class _Flat(_Unary):
    """Piecewise constant, treated as flat (derivative 0: true except at its jump)."""

    def fdiff(self, argindex=1):
        return sp.S.Zero


class _Step(_Flat):
    """Heaviside step H(u) with H(0) = 1/2."""

    numpy_name, numpy_extra, tex, word = "numpy.heaviside", ", 0.5", r"\theta\left({u}\right)", "step"


class _Sign(_Flat):
    """sign(u)."""

    numpy_name, tex, word = "numpy.sign", r"\operatorname{{sign}}\left({u}\right)", "sign"


class _Abs(_Unary):
    """|u| with derivative sign(u)."""

    numpy_name, tex, word = "numpy.abs", r"\left|{u}\right|", "abs"

    def fdiff(self, argindex=1):
        return _Sign(self.args[0])


class _Extremum(sp.Function):
    """min(a, b) (sign −1) or max(a, b) (sign +1): the derivative in a is H(sign·(a − b)), in b
    H(sign·(b − a)), so the argument that wins carries the gradient."""

    nargs = 2
    sign = 0
    word = ""

    def fdiff(self, argindex=1):
        a, b = self.args
        return _Step(self.sign * (a - b)) if argindex == 1 else _Step(self.sign * (b - a))

    def _numpycode(self, printer):
        a, b = (printer._print(arg) for arg in self.args)
        return f"{printer._module_format(f'numpy.{self.word}imum')}({a}, {b})"

    def _latex(self, printer, exp=None):
        a, b = (printer._print(arg) for arg in self.args)
        tex = rf"\{self.word}\left({a}, {b}\right)"
        return tex if exp is None else rf"{tex}^{{{exp}}}"

    def _sympystr(self, printer):
        return "{}({}, {})".format(self.word, *(printer._print(arg) for arg in self.args))


class _Min(_Extremum):
    sign, word = -1, "min"


class _Max(_Extremum):
    sign, word = 1, "max"


def _pairwise(cls, args):
    """min/max of several arguments (SymPy flattens them) as nested two-argument calls."""
    result = args[-1]
    for arg in reversed(args[:-1]):
        result = cls(arg, result)
    return result


# ---- the functions a formula may call ------------------------------------------------------------------

# name, number of arguments, SymPy function (for an argument with x or y the stand-in of the same name is
# built instead; see above), float version (for the parts without x or y)
FUNCTIONS = (
    ("sin", 1, sp.sin, math.sin),
    ("cos", 1, sp.cos, math.cos),
    ("tan", 1, sp.tan, math.tan),
    ("exp", 1, sp.exp, math.exp),
    ("log", 1, sp.log, math.log),
    ("ln", 1, sp.log, math.log),
    ("sqrt", 1, sp.sqrt, math.sqrt),
    ("abs", 1, sp.Abs, abs),
    ("sinh", 1, sp.sinh, math.sinh),
    ("cosh", 1, sp.cosh, math.cosh),
    ("tanh", 1, sp.tanh, math.tanh),
    ("asin", 1, sp.asin, math.asin),
    ("acos", 1, sp.acos, math.acos),
    ("atan", 1, sp.atan, math.atan),
    ("arcsin", 1, sp.asin, math.asin),
    ("arccos", 1, sp.acos, math.acos),
    ("arctan", 1, sp.atan, math.atan),
    ("min", 2, sp.Min, min),
    ("max", 2, sp.Max, max),
)
_FUNCTIONS = {name: (arity, build, value) for name, arity, build, value in FUNCTIONS}
_FUNCTION_LIST = ", ".join(name for name, *_ in FUNCTIONS)
_NAMES = {"x": (X, None), "y": (Y, None), "pi": (sp.pi, math.pi), "e": (sp.E, math.e)}
_KINKS = {sp.Abs: _Abs, sp.Min: _Min, sp.Max: _Max}
_STAND_IN_FOR = {getattr(sp, name): cls for name, cls in _REAL_FUNCTIONS.items()} | _KINKS | {sp.sign: _Sign}


def _needs_swap(e) -> bool:
    if e.is_Rational:
        return max(abs(e.p), e.q) > 2**53
    return type(e) in _STAND_IN_FOR and not e.is_number


def _swap(e):
    if e.is_Rational:
        return sp.Float(e)
    cls = _STAND_IN_FOR[type(e)]
    return _pairwise(cls, e.args) if cls in (_Min, _Max) else cls(*e.args)


def _for_numpy(expr: sp.Expr) -> sp.Expr:
    """Swap SymPy functions of x and y that SymPy created by itself (sqrt(x^2) is Abs(x)) for the
    stand-ins, and integers too big for a NumPy int64 for floats (``numpy.sqrt`` of one fails)."""
    return expr.replace(_needs_swap, _swap)


# ---- how big the derivatives will be, before SymPy computes them ---------------------------------------

def _derivative_size(expr: sp.Expr, symbol: sp.Symbol) -> int:
    """An estimate (from the expression's structure, in time linear in its size) of the number of nodes
    of d expr / d symbol. Products and chains of functions are what make derivatives grow."""
    sizes: dict = {}
    result: dict = {}

    def size(e):
        if e not in sizes:
            sizes[e] = 1 + sum(size(a) for a in e.args)
        return sizes[e]

    def d(e):
        if e in result:
            return result[e]
        if e.is_Symbol:
            n = int(e == symbol)
        elif not e.args or isinstance(e, (_Sign, _Step)):  # numbers, and the stand-ins' flat steps
            n = 0
        elif e.is_Add:
            n = sum(d(a) for a in e.args)
        elif e.is_Mul:  # product rule: each factor's derivative times all the others
            total = sum(size(a) for a in e.args)
            n = sum(d(a) + total - size(a) + 1 for a in e.args if d(a))
        elif e.is_Pow:
            base, exp = e.args
            if d(exp):
                n = 3 * size(base) + 2 * size(exp) + d(base) + d(exp) + 5
            elif d(base):
                n = size(base) + 2 * size(exp) + d(base) + 3
            else:
                n = 0
        else:  # a function: its derivative (about as big as itself) times the argument's
            n = sum(d(a) + size(e) + 8 for a in e.args if d(a))
        result[e] = n + 1 if n else 0
        return result[e]

    return d(expr)


def _check_derivatives(expr: sp.Expr) -> None:
    """Refuse formulas whose exact gradient or Hessian would take SymPy too long to compute."""
    too_big = ExpressionError("the formula is too complicated to differentiate quickly — try a shorter "
                              "one (fewer factors multiplied together or functions nested inside "
                              "each other)")
    if sum(_derivative_size(expr, s) for s in (X, Y)) > MAX_GRADIENT_SIZE:
        raise too_big
    gradient = [sp.diff(expr, s) for s in (X, Y)]
    if sum(_derivative_size(g, s) for g in gradient for s in (X, Y)) > MAX_HESSIAN_SIZE:
        raise too_big


def _quote(text) -> str:
    """A piece of the typed text as a message shows it: at most MAX_QUOTE characters."""
    text = str(text)
    return text if len(text) <= MAX_QUOTE else text[:MAX_QUOTE - 1] + "…"


# ---- the text: checks before parsing, and positions ----------------------------------------------------

class _Source:
    """The typed text, the Python text handed to ast.parse (``^`` written as ``**``), and the map from
    an index in the Python text back to a 1-based position in what was typed."""

    def __init__(self, raw: str):
        self.raw = raw
        self.text = raw.strip()
        self.lead = len(raw) - len(raw.lstrip())
        self.python = ""
        self._origin: list[int] = []

    def translate(self):
        """Write ``^`` as ``**`` (call after the text has passed the checks; it is short then)."""
        parts, origin = [], []
        for i, ch in enumerate(self.text):
            parts.append("**" if ch == "^" else ch)
            origin.extend((i, i) if ch == "^" else (i,))
        origin.append(len(self.text))
        self.python, self._origin = "".join(parts), origin

    def position(self, index: int) -> int:
        """1-based position in the typed text of the character at ``index`` of the stripped text."""
        return self.lead + index + 1

    def python_position(self, offset: int) -> int:
        """1-based position in the typed text of the character at ``offset`` of the Python text."""
        offset = min(max(offset, 0), len(self._origin) - 1)
        return self.position(self._origin[offset])

    def segment(self, node: ast.AST) -> str:
        """The typed text of a node, for messages."""
        start, end = getattr(node, "col_offset", None), getattr(node, "end_col_offset", None)
        if start is None or end is None:
            return _quote(self.text)
        lo = self._origin[min(max(start, 0), len(self._origin) - 1)]
        hi = self._origin[min(max(end, 0), len(self._origin) - 1)]
        return _quote(self.text[lo:hi] or self.text)

    def at(self, node: ast.AST) -> str:
        """' (position N)' for a node, or '' when the node has no position."""
        offset = getattr(node, "col_offset", None)
        return "" if offset is None else f" (position {self.python_position(offset)})"


def _check_text(src: _Source) -> None:
    text = src.text
    if not text:
        raise ExpressionError("the formula is empty — type an expression in x and y, e.g. x^2 + y^2")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the formula is too long: {len(text)} characters (at most {MAX_LENGTH})")
    depth = 0
    for i, ch in enumerate(text):
        where = f"at position {src.position(i)}"
        code = ord(ch)
        if ch == "\x00":
            raise ExpressionError(f"a NUL character {where} is not allowed")
        if code > 127:
            raise ExpressionError(
                f"the character {ch!r} (U+{code:04X}) {where} is not plain ASCII — retype it "
                "(it may only look like a Latin letter or symbol)")
        if ch in "\n\r":
            raise ExpressionError(f"the formula must be on one line (line break {where})")
        if (code < 32 and ch != "\t") or code == 127:
            raise ExpressionError(f"a control character ({ch!r}) {where} is not allowed")
        if ch == ";":
            raise ExpressionError(f"';' {where}: type a single formula")
        if ch == "#":
            raise ExpressionError(f"'#' {where} is not allowed")
        depth += (ch == "(") - (ch == ")")
        if depth > MAX_DEPTH:
            raise ExpressionError(f"the formula is nested too deeply: more than {MAX_DEPTH} levels of "
                                  f"parentheses {where}")


# ---- explaining syntax errors in words a student understands ---------------------------------------------

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?)
  | (?P<name>[A-Za-z_]\w*)
  | (?P<op>\*\*|//|[-+*/^%@(),.])
  | (?P<other>.)
""", re.VERBOSE | re.DOTALL)
_BINARY_OPS = {"+", "-", "*", "/", "^", "**", "%", "//", "@"}
_UNARY_OPS = {"+", "-"}
_STRAY = {
    "'": "text in quotes is not allowed",
    '"': "text in quotes is not allowed",
    "=": "'=' is not allowed — type only the expression in x and y, e.g. x^2 + y^2 (no 'f =' or 'z =')",
    "<": "comparisons ('<', '>', '==', '!=') are not allowed",
    ">": "comparisons ('<', '>', '==', '!=') are not allowed",
    "!": "'!' is not allowed (comparisons and factorials are not supported)",
    "&": "bit operations ('&', '|', '~') are not allowed",
    "|": "bit operations ('&', '|', '~') are not allowed — write abs(u) for an absolute value",
    "~": "bit operations ('&', '|', '~') are not allowed",
    "[": "square brackets are not allowed — use ( ) for grouping",
    "]": "square brackets are not allowed — use ( ) for grouping",
    "{": "curly braces are not allowed — use ( ) for grouping",
    "}": "curly braces are not allowed — use ( ) for grouping",
    ":": "':' is not allowed",
}
_CLOSER = {"(": ")", "[": "]", "{": "}"}


class _Token(NamedTuple):
    kind: str
    text: str
    index: int  # in the stripped typed text


def _tokens(text: str) -> list[_Token]:
    return [_Token(m.lastgroup, m.group(), m.start()) for m in _TOKEN.finditer(text)
            if m.lastgroup != "space"]


def _unbalanced_brackets(src, tokens):
    stack = []
    for tok in tokens:
        if tok.text in _CLOSER:
            stack.append(tok)
        elif tok.text in _CLOSER.values():
            if not stack:
                return f"a '{tok.text}' at position {src.position(tok.index)} has no matching opening bracket"
            opener = stack.pop()
            if _CLOSER[opener.text] != tok.text:
                return (f"the '{opener.text}' at position {src.position(opener.index)} is closed by "
                        f"'{tok.text}' at position {src.position(tok.index)}")
    if stack:
        return f"a '{stack[-1].text}' at position {src.position(stack[-1].index)} is never closed"
    return None


def _python_keyword(src, tokens):
    for tok in tokens:
        if tok.kind == "name" and keyword.iskeyword(tok.text):
            return f"'{tok.text}' is not allowed (position {src.position(tok.index)})"
    return None


def _stray_character(src, tokens):
    for tok in tokens:
        if tok.kind == "other":
            where = f"position {src.position(tok.index)}"
            if tok.text in _STRAY:
                return f"{_STRAY[tok.text]} ({where})"
            return f"the character {tok.text!r} at {where} is not allowed"
    return None


def _is_operand_end(tok):
    return tok.kind in ("number", "name") or tok.text == ")"


def _is_operand_start(tok):
    return tok.kind in ("number", "name") or tok.text == "("


def _missing_operator(src, tokens):
    for a, b in zip(tokens, tokens[1:]):
        if not (_is_operand_end(a) and _is_operand_start(b)):
            continue
        if a.kind == "name" and b.text == "(":
            continue  # a call; the tree walk judges it
        where = f"position {src.position(b.index)}"
        if a.kind == "name" and a.text in _FUNCTIONS:
            return (f"a function needs parentheses: write {a.text}({_quote(b.text)}), not "
                    f"'{a.text} {_quote(b.text)}' ({where})")
        left = "(…)" if a.text == ")" else _quote(a.text)
        right = "(…)" if b.text == "(" else _quote(b.text)
        return (f"an operator is missing between '{_quote(a.text)}' and '{_quote(b.text)}' at {where} — "
                f"write {left}*{right} for a product")
    return None


def _dangling_operator(src, tokens):
    if not tokens:
        return None
    last = tokens[-1]
    if last.text in _BINARY_OPS or last.text in ("(", ",", "."):
        return (f"'{_quote(src.text)}' is incomplete at position {src.position(len(src.text) - 1)}: "
                f"something is missing after '{last.text}'")
    first = tokens[0]
    if first.text in _BINARY_OPS - _UNARY_OPS:
        return f"'{first.text}' at position {src.position(first.index)} has nothing before it"
    for a, b in zip(tokens, tokens[1:]):
        where = f"position {src.position(b.index)}"
        if a.text in _BINARY_OPS and b.text in _BINARY_OPS - _UNARY_OPS:
            return f"'{b.text}' at {where} follows '{a.text}': something is missing between them"
        if a.text in ("(", ",") and b.text in _BINARY_OPS - _UNARY_OPS:
            return f"'{b.text}' at {where} has nothing before it"
        if a.text in _BINARY_OPS and b.text in (")", ","):
            return f"something is missing after '{a.text}' (before the '{b.text}' at {where})"
        if a.text in ("(", ",") and b.text in (")", ","):
            return f"something is missing before the '{b.text}' at {where}"
    return None


def _explain_syntax_error(src: _Source, exc: SyntaxError) -> str:
    tokens = _tokens(src.text)
    for explain in (_unbalanced_brackets, _stray_character, _python_keyword, _missing_operator,
                    _dangling_operator):
        message = explain(src, tokens)
        if message:
            return message
    offset = (exc.offset or len(src.python) + 1) - 1
    return (f"the formula can't be read at position {src.python_position(offset)} — check for a missing "
            "number, operator or parenthesis")


# ---- the tree: size, then a walk that builds the SymPy expression ------------------------------------------

_SKIPPED = (ast.operator, ast.unaryop, ast.expr_context, ast.cmpop, ast.boolop)
_CHAINS = ((ast.Add, ast.Sub), (ast.Mult, ast.Div))


def _same_chain(parent: ast.AST, child: ast.AST) -> bool:
    """True for the left operand of a sum or product that continues it (``a + b + c``): no extra nesting."""
    if not (isinstance(parent, ast.BinOp) and isinstance(child, ast.BinOp) and child is parent.left):
        return False
    return any(isinstance(parent.op, ops) and isinstance(child.op, ops) for ops in _CHAINS)


def _check_size(tree: ast.Expression) -> None:
    """Count the nodes and measure the nesting without recursion."""
    count, stack = 0, [(tree.body, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, _SKIPPED):
            continue
        count += 1
        if count > MAX_NODES:
            raise ExpressionError(f"the formula is too complicated: more than {MAX_NODES} numbers, "
                                  "names and operations")
        if depth > MAX_DEPTH:
            raise ExpressionError(f"the formula is nested too deeply (more than {MAX_DEPTH} levels)")
        for child in ast.iter_child_nodes(node):
            stack.append((child, depth + (0 if _same_chain(node, child) else 1)))


class _Term(NamedTuple):
    expr: sp.Expr
    value: float | None  # the float value when the part has no x or y


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e16 else f"{v:g}"


_REFUSED_NODES = {
    ast.Attribute: "'.' attribute access is not allowed",
    ast.Subscript: "square brackets (indexing such as x[0]) are not allowed",
    ast.Slice: "square brackets (indexing such as x[0]) are not allowed",
    ast.List: "square brackets are not allowed — use ( ) for grouping",
    ast.Tuple: "a ',' is only allowed between the arguments of a function, as in max(x, y)",
    ast.Set: "curly braces are not allowed — use ( ) for grouping",
    ast.Dict: "curly braces are not allowed — use ( ) for grouping",
    ast.Compare: "comparisons ('<', '>', '==', 'is', 'in', …) are not allowed",
    ast.BoolOp: "'and' / 'or' are not allowed",
    ast.IfExp: "'… if … else …' is not allowed",
    ast.Lambda: "'lambda' is not allowed",
    ast.ListComp: "comprehensions ('for' inside brackets) are not allowed",
    ast.SetComp: "comprehensions ('for' inside brackets) are not allowed",
    ast.DictComp: "comprehensions ('for' inside brackets) are not allowed",
    ast.GeneratorExp: "comprehensions ('for' inside brackets) are not allowed",
    ast.JoinedStr: "f-strings (text in quotes) are not allowed",
    ast.FormattedValue: "f-strings (text in quotes) are not allowed",
    ast.NamedExpr: "':=' (assignment) is not allowed",
    ast.Starred: "'*' unpacking is not allowed",
    ast.Await: "'await' is not allowed",
    ast.Yield: "'yield' is not allowed",
    ast.YieldFrom: "'yield' is not allowed",
}
_REFUSED_OPERATORS = {
    ast.Mod: ("%", "'%' (remainder) is not allowed"),
    ast.FloorDiv: ("//", "'//' (whole-number division) is not allowed — use / to divide"),
    ast.MatMult: ("@", "'@' (matrix product) is not allowed — use * to multiply"),
    ast.BitAnd: ("&", "bit operations ('&', '|', '<<', '>>') are not allowed"),
    ast.BitOr: ("|", "bit operations ('&', '|', '<<', '>>') are not allowed"),
    ast.BitXor: ("^", "bit operations ('&', '|', '<<', '>>') are not allowed"),
    ast.LShift: ("<<", "bit operations ('&', '|', '<<', '>>') are not allowed"),
    ast.RShift: (">>", "bit operations ('&', '|', '<<', '>>') are not allowed"),
}


class _Builder:
    """Walks the syntax tree and builds the SymPy expression from the allowed nodes only."""

    def __init__(self, src: _Source):
        self.src = src

    def fail(self, message: str, node: ast.AST | None = None):
        raise ExpressionError(message + (self.src.at(node) if node is not None else ""))

    def build(self, node: ast.AST) -> _Term:
        if isinstance(node, ast.BinOp):
            term = self.binary(node)
        elif isinstance(node, ast.UnaryOp):
            term = self.unary(node)
        elif isinstance(node, ast.Constant):
            term = self.constant(node)
        elif isinstance(node, ast.Name):
            term = self.name(node)
        elif isinstance(node, ast.Call):
            term = self.call(node)
        elif isinstance(node, ast.Tuple) and not node.elts:
            self.fail("empty parentheses '()' are not allowed", node)
        else:
            message = _REFUSED_NODES.get(type(node), f"'{self.src.segment(node)}' is not allowed here")
            self.fail(message, node)
        self.check(node, term)
        return term

    # -- leaves

    def constant(self, node: ast.Constant) -> _Term:
        v = node.value
        if isinstance(v, bool):
            self.fail(f"'{v}' is not allowed — use numbers", node)
        if isinstance(v, int):
            if abs(v) > MAX_LITERAL:
                self.fail(f"the number {_quote(v)} is too large (at most 1e15)", node)
            return _Term(sp.Integer(v), float(v))
        if isinstance(v, float):
            if not math.isfinite(v) or abs(v) > MAX_LITERAL:
                self.fail(f"the number {self.src.segment(node)} is too large (at most 1e15)", node)
            return _Term(sp.Float(v), v)
        if isinstance(v, complex):
            self.fail("imaginary numbers (like 1j) are not allowed", node)
        if isinstance(v, (str, bytes)):
            self.fail("text in quotes is not allowed", node)
        self.fail(f"'{self.src.segment(node)}' is not allowed", node)

    def name(self, node: ast.Name) -> _Term:
        name = node.id
        if "__" in name:
            self.fail(f"names with double underscores (like '{_quote(name)}') are not allowed", node)
        if name in _NAMES:
            return _Term(*_NAMES[name])
        if name in _FUNCTIONS:
            self.fail(f"'{name}' is a function: write {name}(…) with its argument in parentheses", node)
        hint = ""
        if re.fullmatch(r"[xy]+", name):
            hint = f" — write {_quote('*'.join(name))} for a product"
        elif re.fullmatch(r"[xy]\d+", name):
            digits = _quote(name[1:])
            hint = f" — write {name[0]}*{digits} for a product or {name[0]}^{digits} for a power"
        self.fail(f"unknown name '{_quote(name)}'{hint or ' — use x and y (and the constants pi and e)'}", node)

    # -- operations

    def unary(self, node: ast.UnaryOp) -> _Term:
        if isinstance(node.op, ast.USub):
            t = self.build(node.operand)
            return _Term(-t.expr, None if t.value is None else -t.value)
        if isinstance(node.op, ast.UAdd):
            return self.build(node.operand)
        word = "'not'" if isinstance(node.op, ast.Not) else "'~'"
        self.fail(f"{word} is not allowed", node)

    def binary(self, node: ast.BinOp) -> _Term:
        op = type(node.op)
        if op in _REFUSED_OPERATORS:
            symbol, message = _REFUSED_OPERATORS[op]
            where = self.src.python.find(symbol, node.left.end_col_offset)
            self.fail(message + (f" (position {self.src.python_position(where)})" if where >= 0 else ""))
        left, right = self.build(node.left), self.build(node.right)
        if op is ast.Pow:
            return self.power(node, left, right)
        a, b = left.value, right.value
        both = a is not None and b is not None
        if op is ast.Add:
            return _Term(left.expr + right.expr, a + b if both else None)
        if op is ast.Sub:
            return _Term(left.expr - right.expr, a - b if both else None)
        if op is ast.Mult:
            return _Term(left.expr * right.expr, a * b if both else None)
        if op is ast.Div:
            if b == 0:
                self.fail(f"the formula is undefined: division by zero in '{self.src.segment(node)}'", node)
            return _Term(left.expr / right.expr, a / b if both else None)
        self.fail("this operation is not allowed", node)

    def power(self, node: ast.BinOp, base: _Term, exponent: _Term) -> _Term:
        b, e = base.value, exponent.value
        if e is not None:
            if abs(e) > MAX_EXPONENT:
                self.fail(f"exponent {_fmt(e)} is too large (at most {MAX_EXPONENT})", node.right)
            if b is not None:
                if b == 0 and e < 0:
                    self.fail(f"the formula is undefined: division by zero in '{self.src.segment(node)}'", node)
                if b != 0 and abs(e) * math.log10(abs(b)) > math.log10(MAX_MAGNITUDE):
                    self.fail(f"'{self.src.segment(node)}' is too large (more than 1e300)", node)
        value = None
        if b is not None and e is not None:
            try:
                value = math.pow(b, e)
            except ValueError:
                self.fail(f"'{self.src.segment(node)}' is not a real number (a negative number to a "
                          "fractional power)", node)
            except OverflowError:
                self.fail(f"'{self.src.segment(node)}' is too large (more than 1e300)", node)
        if base.expr is sp.E and e is None:
            expr = _REAL_FUNCTIONS["exp"](exponent.expr)  # e^u: see the stand-ins
        else:
            expr = sp.Pow(base.expr, exponent.expr)
        if isinstance(expr, sp.Pow) and expr.exp.is_Number and abs(expr.exp) > MAX_EXPONENT:
            self.fail(f"exponent {expr.exp} is too large (at most {MAX_EXPONENT}); powers of powers "
                      "multiply their exponents", node)
        return _Term(expr, value)

    def call(self, node: ast.Call) -> _Term:
        func = node.func
        if not isinstance(func, ast.Name):
            if isinstance(func, ast.Constant) and isinstance(func.value, (int, float)):
                self.fail(f"a '*' is missing after {self.src.segment(func)} — write "
                          f"{self.src.segment(func)}*(…) for a product", node)
            if isinstance(func, ast.Attribute):
                self.fail(_REFUSED_NODES[ast.Attribute], func)
            where = self.src.python.find("(", func.end_col_offset)
            self.fail(f"an operator is missing before the '(' at position {self.src.python_position(where)}"
                      " — write (…)*(…) for a product")
        name = func.id
        if "__" in name:
            self.fail(f"names with double underscores (like '{_quote(name)}') are not allowed", func)
        if name in _NAMES:
            self.fail(f"'{name}' is not a function — write {name}*(…) for a product", func)
        if name not in _FUNCTIONS:
            self.fail(f"unknown function '{_quote(name)}' — allowed: {_FUNCTION_LIST}", func)
        for kw in node.keywords:
            if kw.arg is None:
                self.fail("'**' unpacking is not allowed", kw)
            self.fail(f"keyword arguments (like '{_quote(kw.arg)}=') are not allowed — write {name}(…) "
                      "with plain arguments", kw)
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                self.fail(_REFUSED_NODES[ast.Starred], arg)
        arity, build, evaluate = _FUNCTIONS[name]
        if len(node.args) != arity:
            plural = "argument" if arity == 1 else "arguments"
            self.fail(f"{name} takes {arity} {plural}, got {len(node.args)}", node)
        args = [self.build(arg) for arg in node.args]
        value = None
        if all(a.value is not None for a in args):
            try:
                value = float(evaluate(*(a.value for a in args)))
            except ValueError:
                self.fail(f"the formula is undefined: '{self.src.segment(node)}' is not a real number", node)
            except OverflowError:
                self.fail(f"'{self.src.segment(node)}' is too large (more than 1e300)", node)
        if value is None:
            return _Term(_STAND_IN_FOR.get(build, build)(*(a.expr for a in args)), None)
        if build in _KINKS:
            return _Term(_constant_kink(build, args), value)
        return _Term(build(*(a.expr for a in args)), value)

    # -- after every node

    def check(self, node: ast.AST, term: _Term) -> None:
        """Refuse a part that is infinite, undefined, complex or has a number with too many digits."""
        where = f"'{self.src.segment(node)}'"
        if term.value is not None:
            if math.isnan(term.value):
                self.fail(f"the formula is undefined: {where} is not a number", node)
            if abs(term.value) > MAX_MAGNITUDE:
                self.fail(f"{where} is too large (more than 1e300)", node)
        expr = term.expr
        if expr.has(sp.zoo, sp.oo, sp.S.NegativeInfinity, sp.nan):
            self.fail(f"the formula is undefined: {where} involves a division by zero", node)
        if expr.has(sp.I):
            self.fail(f"{where} is not real-valued (for example the square root or log of a negative "
                      "number)", node)
        for number in expr.atoms(sp.Number):
            if isinstance(number, sp.Rational):
                too_big = max(abs(number.p), number.q) > 10**300
            else:
                too_big = abs(number) > MAX_MAGNITUDE
            if too_big:
                self.fail(f"{where} has a number that is too large (more than 1e300)", node)


def _constant_kink(build, args: list[_Term]) -> sp.Expr:
    """|c|, min(c, d) or max(c, d) of constants: the exact argument (or its negative) that the float values
    select, so that no stand-in or comparison of SymPy constants is left in the formula."""
    if build is sp.Abs:
        (a,) = args
        return a.expr if a.value >= 0 else -a.expr
    a, b = args
    first = a.value <= b.value if build is sp.Min else a.value >= b.value
    return a.expr if first else b.expr


def _parse_tree(src: _Source) -> ast.Expression:
    # ast.parse may print a SyntaxWarning (e.g. "'int' object is not callable" for 2(x)). It is not
    # silenced: warnings.catch_warnings changes process-wide state and is unsafe in a threaded server.
    try:
        return ast.parse(src.python, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(_explain_syntax_error(src, exc)) from None
    except (RecursionError, MemoryError, ValueError, OverflowError):
        raise ExpressionError("the formula is too complicated to read") from None


def _parse(text) -> tuple[sp.Expr, _Source]:
    if not isinstance(text, str):
        raise ExpressionError(f"the formula must be text, not {type(text).__name__}")
    src = _Source(text)
    _check_text(src)
    src.translate()
    tree = _parse_tree(src)
    _check_size(tree)
    expr = _Builder(src).build(tree.body).expr
    if not expr.free_symbols & {X, Y}:
        raise ExpressionError("the formula has no x or y — it is a constant")
    expr = _for_numpy(expr)
    _check_derivatives(expr)
    return expr, src


def _guarded(what: str, fn, *args):
    """Run fn; let ExpressionError through and turn anything else into one (nothing else may escape)."""
    try:
        return fn(*args)
    except ExpressionError:
        raise
    except Exception as exc:
        raise ExpressionError(f"the formula could not be {what} ({type(exc).__name__})") from exc


def parse(text: str) -> sp.Expr:
    """The SymPy expression in x and y for a typed formula (parsing and validation only).

    |u|, min and max come back as stand-ins whose second derivatives NumPy can evaluate."""
    return _guarded("read", _parse, text)[0]


# ---- the surface -------------------------------------------------------------------------------------

def _check_domain(domain) -> tuple[tuple[float, float], tuple[float, float]]:
    if domain is None:
        return DEFAULT_DOMAIN
    shape = "the domain must be ((xmin, xmax), (ymin, ymax))"
    try:
        (x0, x1), (y0, y1) = domain
    except (TypeError, ValueError):
        raise ExpressionError(shape) from None
    values = (x0, x1, y0, y1)
    if not all(isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) for v in values):
        raise ExpressionError(shape + " with numbers")
    x0, x1, y0, y1 = (float(v) for v in values)
    for axis, lo, hi in (("x", x0, x1), ("y", y0, y1)):
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ExpressionError(f"the {axis} range must be finite numbers")
        if max(abs(lo), abs(hi)) > MAX_COORDINATE:
            raise ExpressionError(f"the {axis} range must stay within ±{MAX_COORDINATE:g}")
        if not hi - lo >= MIN_SPAN:
            raise ExpressionError(f"the {axis} range must go from a smaller to a larger number "
                                  f"(at least {MIN_SPAN:g} apart), got {lo:g} to {hi:g}")
    return (x0, x1), (y0, y1)


def _grid_minima(xs, ys, z, limit: int) -> np.ndarray:
    """The lowest ``limit`` interior grid points that are no higher than any of their 8 neighbours and
    lower than one of them (so a minimum that falls between grid points, tied by symmetry, counts; a
    flat plateau does not)."""
    ny, nx = z.shape
    centre = z[1:-1, 1:-1]
    ok = np.isfinite(centre)
    lower_than_one = np.zeros_like(ok)
    with np.errstate(all="ignore"):
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                if di or dj:
                    neighbour = z[1 + di:ny - 1 + di, 1 + dj:nx - 1 + dj]
                    ok &= np.isfinite(neighbour) & (centre <= neighbour)
                    lower_than_one |= centre < neighbour
    i, j = np.nonzero(ok & lower_than_one)
    order = np.argsort(centre[i, j], kind="stable")[:limit]
    return np.stack([xs[j[order] + 1], ys[i[order] + 1]], axis=-1)


def _polish_minima(surface: Surface, points: np.ndarray) -> np.ndarray:
    """Newton-polished points that are true local minima inside the domain, without duplicates."""
    if len(points) == 0:
        return np.zeros((0, 2))
    (x0, x1), (y0, y1) = surface.domain
    with np.errstate(all="ignore"):
        p = newton_refine(surface.grad, surface.hessian, points)
        f, g, h = surface.f(p), surface.grad(p), surface.hessian(p)
        inside = (p[:, 0] >= x0) & (p[:, 0] <= x1) & (p[:, 1] >= y0) & (p[:, 1] <= y1)
        flat = np.linalg.norm(g, axis=-1) < 1e-6
        det = h[:, 0, 0] * h[:, 1, 1] - h[:, 0, 1] * h[:, 1, 0]
        convex = (h[:, 0, 0] > 0) & (det > 0)
        keep = np.isfinite(p).all(axis=-1) & inside & np.isfinite(f) & flat & convex
    tol = 1e-7 * max(1.0, surface.span)
    found: list[np.ndarray] = []
    for k in np.flatnonzero(keep)[np.argsort(f[keep], kind="stable")]:
        if all(np.abs(p[k] - q).max() > tol for q in found):
            found.append(p[k])
    return np.array(found[:MAX_MINIMA]).reshape(-1, 2)


def _choose_start(surface: Surface) -> tuple[float, float]:
    """Of the points 80% of the way from the centre to each corner, the one with the highest finite f
    (and finite gradient), so that a run has somewhere to go; the lower-left one by default."""
    (x0, x1), (y0, y1) = surface.domain
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    corners = np.array([(x0, y0), (x1, y0), (x0, y1), (x1, y1)])
    candidates = np.array([cx, cy]) + 0.8 * (corners - np.array([cx, cy]))
    with np.errstate(all="ignore"):
        f = surface.f(candidates)
        usable = np.isfinite(f) & np.isfinite(surface.grad(candidates)).all(axis=-1)
    best = int(np.argmax(np.where(usable, f, -np.inf))) if usable.any() else 0
    return round(float(candidates[best, 0]), 12), round(float(candidates[best, 1]), 12)


def _build_surface(text, domain) -> Surface:
    domain = _check_domain(domain)
    expr, src = _parse(text)
    common = dict(name="custom", label=f"Custom: {src.text}", expr=expr, domain=domain, group="Custom",
                  note=NOTE, latex=_guarded("written as LaTeX", sp.latex, expr))
    surface = _guarded("differentiated and compiled", lambda: Surface(
        minima=np.zeros((0, 2)), f_min=-math.inf, start=(domain[0][0], domain[1][0]), **common))
    xs, ys, z = _guarded("evaluated", surface.grid, GRID)
    finite = np.isfinite(z)
    if finite.mean() < 0.5:
        raise ExpressionError("the formula is undefined (NaN/inf) over most of the domain — check for "
                              "square roots or logs of negative numbers, or try another domain")
    minima = _guarded("evaluated", _polish_minima, surface, _grid_minima(xs, ys, z, 4 * MAX_MINIMA))
    f_min = float(z[~np.isnan(z)].min())
    if len(minima):
        with np.errstate(all="ignore"):
            f_min = min(f_min, float(surface.f(minima).min()))
    start = _guarded("evaluated", _choose_start, surface)
    return _fill_in(surface, minima=minima, f_min=f_min, start=start)


def _fill_in(surface: Surface, **fields) -> Surface:
    """Set fields of a Surface this module has just built and not yet handed out. (Building it again
    with them would differentiate and compile the formula a second time: half the time budget.)"""
    for name, value in fields.items():
        object.__setattr__(surface, name, value)
    return surface


def from_expression(text: str, domain=None) -> Surface:
    """A Surface for the formula ``text`` in x and y over ``domain`` = ((xmin, xmax), (ymin, ymax)),
    default ((-3, 3), (-3, 3)).

    Minima are estimated numerically (see ``NOTE``); ``f_min`` is never above any value on the grid.
    Raises ExpressionError, and nothing else, for any formula or domain that cannot be used."""
    return _guarded("handled", _build_surface, text, domain)
