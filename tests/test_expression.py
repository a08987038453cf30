"""Tests for surfaces.expression: formulas typed by a person, parsed without ever running them as code."""
from __future__ import annotations

import math
import pathlib
import re
import time

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import surfaces
from surfaces.base import X, Y, Surface
from surfaces.expression import (DEFAULT_DOMAIN, FUNCTIONS, ExpressionError, from_expression,
                                 parse)

# ast.parse warns (SyntaxWarning) about some refused inputs such as 2(x+1); that is expected.
pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")

SURFACES_DIR = pathlib.Path(surfaces.__file__).parent
POINTS = np.array([[0.0, 0.0], [0.3, -1.2], [-1.7, 0.4], [2.5, 2.9], [-0.9, -2.2]])


def timed(fn, *args, **kwargs):
    """(result or the exception raised, seconds)."""
    t = time.perf_counter()
    try:
        result = fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the caller inspects it
        result = exc
    return result, time.perf_counter() - t


# ---- good formulas: values and gradients against hand computation --------------------------------------

GOOD = [
    ("(1-x)^2 + 100*(y-x^2)^2",
     lambda x, y: (1 - x)**2 + 100 * (y - x**2)**2,
     lambda x, y: (-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2))),
    ("sin(x)*cos(y) + 0.1*(x^2+y^2)",
     lambda x, y: np.sin(x) * np.cos(y) + 0.1 * (x**2 + y**2),
     lambda x, y: (np.cos(x) * np.cos(y) + 0.2 * x, -np.sin(x) * np.sin(y) + 0.2 * y)),
    ("x**2 + y**2",
     lambda x, y: x**2 + y**2,
     lambda x, y: (2 * x, 2 * y)),
    ("abs(x) + y^2",
     lambda x, y: np.abs(x) + y**2,
     lambda x, y: (np.sign(x), 2 * y)),
    ("exp(-(x^2+y^2))",
     lambda x, y: np.exp(-(x**2 + y**2)),
     lambda x, y: (-2 * x * np.exp(-(x**2 + y**2)), -2 * y * np.exp(-(x**2 + y**2)))),
    ("2*pi*x + e*y^2",
     lambda x, y: 2 * np.pi * x + np.e * y**2,
     lambda x, y: (2 * np.pi + 0 * x, 2 * np.e * y)),
    ("max(x, y) + min(x^2, 1)",
     lambda x, y: np.maximum(x, y) + np.minimum(x**2, 1),
     lambda x, y: (np.heaviside(x - y, 0.5) + 2 * x * (x**2 < 1), np.heaviside(y - x, 0.5))),  # ties split
]


@pytest.mark.parametrize("text, f, grad", GOOD, ids=[g[0] for g in GOOD])
def test_good_formula_values_and_gradients(text, f, grad):
    s = from_expression(text)
    x, y = POINTS[:, 0], POINTS[:, 1]
    assert np.allclose(s.f(POINTS), f(x, y), rtol=1e-12, atol=1e-12)
    assert np.allclose(s.grad(POINTS), np.stack(grad(x, y), axis=-1), rtol=1e-12, atol=1e-12)
    assert np.isfinite(s.hessian(POINTS)).all()  # |u|, min and max must not produce DiracDelta


def test_rosenbrock_gradient_at_origin_is_minus_two_zero():
    s = from_expression("(1-x)^2 + 100*(y-x^2)^2")
    assert s.f([[0.0, 0.0]])[0] == 1.0
    assert np.allclose(s.grad([[0.0, 0.0]]), [[-2.0, 0.0]])


def test_hessian_of_bowl():
    s = from_expression("x^2 + 3*x*y + 5*y^2")
    assert np.allclose(s.hessian(POINTS), [[2.0, 3.0], [3.0, 10.0]])


def test_caret_and_double_star_mean_the_same():
    assert parse("x^2 + y**3") == X**2 + Y**3


def test_parse_uses_the_surface_symbols():
    expr = parse("x*y + pi")
    assert expr.free_symbols == {X, Y}
    assert expr == X * Y + sp.pi


def test_kinks_have_numpy_friendly_second_derivatives():
    expr = parse("abs(x - 1)*max(x, y) + min(x, y^2)")
    for a in (X, Y):
        for b in (X, Y):
            assert not sp.diff(expr, a, b).has(sp.DiracDelta, sp.Heaviside, sp.Abs, sp.sign)


def test_functions_of_x_and_y_still_evaluate_symbolically():
    expr = parse("sin(x) + exp(y) + log(x^2 + 1) + atan(x*y)")
    value = expr.subs({X: 0.5, Y: 0.25}).evalf()
    assert float(value) == pytest.approx(math.sin(0.5) + math.exp(0.25) + math.log(1.25) + math.atan(0.125))
    assert str(expr) == "exp(y) + log(x**2 + 1) + sin(x) + atan(x*y)"


def test_constant_parts_are_folded_exactly():
    assert parse("sin(pi/6)*x + exp(0)*y + abs(-2)*x*y + max(1, 2)") == X / 2 + Y + 2 * X * Y + 2


def test_python_keywords_are_named():
    with pytest.raises(ExpressionError, match="'import' is not allowed"):
        parse("import os")


def test_ln_and_arctan_aliases():
    assert str(parse("ln(x) + arctan(y)")) == "log(x) + atan(y)"


def test_estimated_minimum_of_shifted_bowl():
    s = from_expression("(x-1)^2 + (y+0.5)^2")
    assert s.minima.shape == (1, 2)
    assert np.allclose(s.minima, [[1.0, -0.5]], atol=1e-12)
    assert s.f_min == pytest.approx(0.0, abs=1e-15)


def test_rosenbrock_minimum_found_on_its_usual_domain():
    s = from_expression("(1-x)^2 + 100*(y-x^2)^2", domain=((-2, 2), (-1, 3)))
    assert np.allclose(s.minima, [[1.0, 1.0]], atol=1e-9)
    assert s.f_min == pytest.approx(0.0, abs=1e-12)
    assert s.domain == ((-2.0, 2.0), (-1.0, 3.0))


def test_several_minima_of_a_multimodal_surface():
    s = from_expression("20 + x^2 - 10*cos(2*pi*x) + y^2 - 10*cos(2*pi*y)")
    assert 1 < len(s.minima) <= 8
    assert np.allclose(s.minima[0], [0.0, 0.0], atol=1e-9)  # the lowest comes first
    assert s.f_min == pytest.approx(0.0, abs=1e-12)
    assert np.all(np.linalg.norm(s.grad(s.minima), axis=-1) < 1e-6)


@pytest.mark.parametrize("text", ["x + y", "x^3 - 3*x*y^2", "abs(x) + abs(y)", "exp(-(x^2+y^2))"])
def test_f_min_never_above_the_grid(text):
    s = from_expression(text)
    _, _, z = s.grid(200)
    assert s.f_min <= np.nanmin(z)
    (x0, x1), (y0, y1) = s.domain
    for p in s.minima:
        assert x0 <= p[0] <= x1 and y0 <= p[1] <= y1


def test_surface_fields():
    s = from_expression("  x^2 + y^2  ")
    assert isinstance(s, Surface)
    assert s.name == "custom"
    assert s.label == "Custom: x^2 + y^2"
    assert s.group == "Custom"
    assert s.latex == sp.latex(s.expr) == "x^{2} + y^{2}"
    assert "estimated numerically" in s.note
    assert s.domain == DEFAULT_DOMAIN
    (x0, x1), (y0, y1) = s.domain
    assert x0 < s.start[0] < x1 and y0 < s.start[1] < y1
    assert not s.time_varying


def test_start_is_a_high_point():
    s = from_expression("(x-2)^2 + (y-2)^2")
    assert s.start == (-2.4, -2.4)  # the corner point farthest up the bowl


def test_latex_of_abs_min_max():
    tex = from_expression("abs(x) + max(x, y)").latex
    assert r"\left|x\right|" in tex and r"\max" in tex


def test_package_exports():
    assert surfaces.from_expression is from_expression
    assert issubclass(surfaces.ExpressionError, ValueError)


def test_big_integer_constant_is_evaluated_as_float():
    s = from_expression("sqrt(999999999999989*999999999999947)*x")
    assert np.isfinite(s.f(POINTS)).all()


def test_long_flat_sum_is_not_too_deep():
    s = from_expression("x" + "+x" * 89 + "+y^2")
    assert s.f([[1.0, 1.0]])[0] == pytest.approx(91.0)


# ---- bad formulas ------------------------------------------------------------------------------------------

BAD = [
    ("", "empty"),
    ("   ", "empty"),
    ("3", "constant"),
    ("x - x", "constant"),
    ("z", "unknown name 'z'"),
    ("x**", "incomplete at position 3"),
    ("x^", "incomplete at position 2"),
    ("(x+1", "'(' at position 1 is never closed"),
    ("x+1)", "no matching"),
    ("x y", "write x*y"),
    ("2x", "write 2*x for a product"),
    ("2(x+1)", "2*(…)"),
    ("(x+1)(x-1)", "(…)*(…)"),
    ("x(y)", "'x' is not a function"),
    ("sin x", "sin(x"),
    ("x2", "unknown name 'x2'"),
    ('__import__("os")', "double underscores"),
    ("x.__class__", "attribute access"),
    ("x.real", "attribute access"),
    ("'a'", "text in quotes"),
    ("'a", "text in quotes"),
    ("b'a'", "text in quotes"),
    ("lambda: 1", "'lambda'"),
    ("[x for x in y]", "comprehensions"),
    ("(x for x in y)", "comprehensions"),
    ("x; y", "single formula"),
    ("x\ny", "one line"),
    ("x # comment", "'#'"),
    ("foo(x)", "unknown function 'foo' — allowed: sin, cos"),
    ("sin(x, y)", "sin takes 1 argument, got 2"),
    ("max(x)", "max takes 2 arguments, got 1"),
    ("sin(x=1)", "keyword arguments"),
    ("sin(*x)", "unpacking"),
    ("sin", "'sin' is a function"),
    ("9**9**9**9", "exponent 387420489 is too large (at most 100)"),
    ("x**1000", "exponent 1000 is too large (at most 100)"),
    ("x^-101", "exponent -101 is too large"),
    ("(x^100)^100", "exponent 10000 is too large"),
    ("10^15^2*x", "too large"),
    ("(10^15)^30*x", "too large"),
    ("1/0", "division by zero"),
    ("x/(y-y)", "division by zero"),
    ("0^-1 + x", "division by zero"),
    ("tan(pi/2)*x", "division by zero"),
    ("log(0)*x", "undefined"),
    ("sqrt(-1)*x", "not a real number"),
    ("(-8)^(1/3)*x", "not a real number"),
    ("exp(1000)*x", "too large"),
    ("1e400*x", "too large"),
    ("10000000000000000*x", "too large"),
    ("1j*x", "imaginary"),
    ("True*x", "'True' is not allowed"),
    ("None", "not allowed"),
    ("+".join(["x"] * 600), "too long: 1199 characters"),
    ("(" * 5000 + "x" + ")" * 5000, "too long"),
    ("(" * 31 + "x" + ")" * 31, "nested too deeply"),
    ("-" * 40 + "x", "nested too deeply"),
    ("+".join(f"sin({i}*x)" for i in range(1, 40)), "too complicated"),
    ("*".join(f"sin({i}*x+y)" for i in range(1, 26)), "too complicated to differentiate"),
    ("sin(" * 29 + "x" + ")" * 29, "too complicated to differentiate"),
    ("\x00x", "NUL"),
    ("x\x07", "control character"),
    ("х", "U+0445"),  # Cyrillic, looks like x
    ("x + у", "position 5"),  # Cyrillic у
    ("x²", "not plain ASCII"),
    ('f"{x}"', "f-strings"),
    ("x if y else 1", "'… if … else …'"),
    ("x < y", "comparisons"),
    ("x == y", "comparisons"),
    ("x = 1", "'=' is not allowed"),
    ("x and y", "'and' / 'or'"),
    ("not x", "'not'"),
    ("(a:=x)", "':='"),
    ("x[0]", "square brackets"),
    ("[x, y]", "square brackets"),
    ("{x}", "curly braces"),
    ("(x, y)", "','"),
    ("()", "empty parentheses"),
    ("x @ y", "'@'"),
    ("x // y", "'//'"),
    ("x % y", "'%'"),
    ("x & y", "bit operations"),
    ("x << y", "bit operations"),
    ("~x", "'~'"),
    ("x*/y", "'/' at position 3 follows '*'"),
    ("*x", "nothing before it"),
    ("(x+)", "missing after '+'"),
    ("x $ y", "'$'"),
    ('Symbol("x")', "unknown function 'Symbol'"),
    ('sympify("x")', "unknown function 'sympify'"),
    ("factorial(100000)", "unknown function 'factorial'"),
    ("x.__class__.__mro__[1].__subclasses__()", "not allowed"),
    ("sqrt(x - 10)", "undefined (NaN/inf) over most of the domain"),
]


@pytest.mark.parametrize("text, expected", BAD, ids=[repr(b[0])[:40] for b in BAD])
def test_bad_formula_is_refused_quickly_with_a_clear_message(text, expected):
    result, seconds = timed(from_expression, text)
    assert isinstance(result, ExpressionError), result
    assert expected in str(result)
    assert seconds < 1.0


def test_expression_error_is_a_value_error():
    with pytest.raises(ValueError):
        from_expression("")


@pytest.mark.parametrize("text", [
    "exp(exp(exp(exp(x))))", "tan(tan(tan(x*y)))", "x^y^x", "log(x*y)",
    # SymPy's own sinh would split (…)^100 into real and imaginary parts here and never finish
    "sqrt(-sinh((tan(x^y) + y^x)^100))",
    "sqrt(-sinh((exp(x/y) + tan(x^y) + y^x)^40))",
    "(ln(-(ln(abs(2*x*y)) - cos(tan(pi*y))^y)))^(x^y)",
    "max(y, sinh(max(tanh(x*y^2 - 4 + pi) - 2, y*log(cos(y^2 - y))))/(-12/sqrt(pi)))",
])
def test_awkward_but_valid_formulas_finish_quickly(text):
    result, seconds = timed(from_expression, text)
    assert isinstance(result, (Surface, ExpressionError)), result
    assert seconds < 1.0


def test_positions_refer_to_the_typed_text():
    # '^' becomes '**' for the parser; positions must still count the characters as typed.
    with pytest.raises(ExpressionError, match=r"unknown name 'z' .*\(position 7\)"):
        parse("x^2 + z")
    with pytest.raises(ExpressionError, match=r"position 11"):
        parse("x^2 + y^2 $")
    with pytest.raises(ExpressionError, match=r"incomplete at position 5"):
        parse("  x**")  # leading spaces count too


@pytest.mark.parametrize("value", [None, 3, 2.5, b"x", ["x"], object()])
def test_non_text_input_is_refused(value):
    with pytest.raises(ExpressionError, match="must be text"):
        from_expression(value)


@pytest.mark.parametrize("domain, expected", [
    (((1, -1), (-1, 1)), "smaller to a larger"),
    (((0, 0), (-1, 1)), "smaller to a larger"),
    (((-1, 1), (-1, math.inf)), "finite"),
    (((-1, 1), (math.nan, 1)), "finite"),
    (((-1e7, 1), (-1, 1)), "within"),
    (((-1, 1),), "((xmin, xmax), (ymin, ymax))"),
    ((("a", 1), (-1, 1)), "with numbers"),
    (((True, 2), (-1, 1)), "with numbers"),
    ("abc", "((xmin, xmax), (ymin, ymax))"),
    (5, "((xmin, xmax), (ymin, ymax))"),
])
def test_bad_domain_is_refused(domain, expected):
    with pytest.raises(ExpressionError, match=re.escape(expected)):
        from_expression("x^2 + y^2", domain=domain)


def test_numpy_numbers_are_a_valid_domain():
    s = from_expression("x^2 + y^2", domain=((np.float64(-1), np.int64(2)), (-1.5, 1.5)))
    assert s.domain == ((-1.0, 2.0), (-1.5, 1.5))


# ---- security: nothing typed is ever run -------------------------------------------------------------------

def test_no_code_runs_whatever_is_typed(tmp_path):
    marker = tmp_path / "MARKER"
    m = str(marker)
    attacks = [
        f"__import__('os').system('touch {m}')",
        f"open('{m}','w')",
        f"open('{m}', 'w').write('x')",
        f"__import__('subprocess').run(['touch', '{m}'])",
        f"(lambda: __import__('os').system('touch {m}'))()",
        f"[__import__('os').system('touch {m}') for _ in [1]]",
        f"x + __import__('os').system('touch {m}')",
        f"x.__class__.__init__.__globals__['os'].system('touch {m}')",
        "Symbol('x').__class__.__mro__[-1].__subclasses__()",
        f"sympify(\"__import__('os').system('touch {m}')\")",
        f"parse_expr(\"__import__('os').system('touch {m}')\")",
        f"S(\"__import__('os').system('touch {m}')\")",
        f"eval(\"__import__('os').system('touch {m}')\")",
        f"exec(\"open('{m}','w')\")",
        "Function('f')(x).__class__.__init__.__globals__",
        f"x; __import__('os').system('touch {m}')",
        f"x\n__import__('os').system('touch {m}')",
        f"f\"{{__import__('os').system('touch {m}')}}\"",
        f"sin(__import__('os').system('touch {m}'))",
        f"sin(x) + open('{m}','w').close()",
        f"(a:=__import__('os')).system('touch {m}')",
        f"x if __import__('os').system('touch {m}') else y",
    ]
    for text in attacks:
        for call in (from_expression, parse):
            with pytest.raises(ExpressionError):
                call(text)
    assert not marker.exists()


def test_source_never_calls_string_evaluators():
    pattern = re.compile(r"\b(sympify|parse_expr|eval|exec)\s*\(")
    for path in sorted(SURFACES_DIR.glob("*.py")):
        hits = [line for line in path.read_text().splitlines() if pattern.search(line)]
        assert not hits, f"{path.name}: {hits}"


def test_function_table_is_explicit():
    names = [name for name, *_ in FUNCTIONS]
    assert len(names) == len(set(names))
    assert {"sin", "cos", "exp", "log", "sqrt", "abs", "min", "max"} <= set(names)
    assert not {"eval", "exec", "open", "sympify", "Symbol", "__import__"} & set(names)


# ---- property tests ------------------------------------------------------------------------------------

ASCII_ALPHABET = "xyepi0123456789.+-*/^(),_ sincoexplgqrtabmdh[]{}'\"=<>!%@&|~:;#\\$\t\n"


@settings(max_examples=150, deadline=None)
@given(st.one_of(
    st.text(max_size=80),
    st.text(alphabet=ASCII_ALPHABET, max_size=60),
    st.binary(max_size=80).map(lambda b: b.decode("utf-8", errors="replace")),
    st.binary(max_size=80).map(lambda b: b.decode("latin-1")),
))
def test_random_text_gives_a_surface_or_expression_error(text):
    try:
        s = from_expression(text)
    except ExpressionError:
        return
    assert isinstance(s, Surface)


_LEAVES = st.one_of(  # mostly x and y, so that most formulas are not constants
    st.sampled_from(["x", "y"]),
    st.sampled_from(["x", "y", "pi", "e"]),
    st.one_of(st.integers(0, 12), st.integers(0, 10**16), st.floats(0, 10), st.floats(0, 1e20)).map(repr),
)
_UNARY = sorted(name for name, arity, *_ in FUNCTIONS if arity == 1)
_BINARY = sorted(name for name, arity, *_ in FUNCTIONS if arity == 2)


def _grow(children):
    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-", "*", "/", "^", "**"]), children)
          .map(lambda t: f"({t[0]}{t[1]}{t[2]})"),
        st.tuples(st.sampled_from(_UNARY), children).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(_BINARY), children, children).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        children.map(lambda c: f"-{c}"),
    )


FORMULAS = st.recursive(_LEAVES, _grow, max_leaves=25)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(FORMULAS)
def test_random_formulas_give_a_surface_or_expression_error(text):
    result, seconds = timed(from_expression, text)
    assert isinstance(result, (Surface, ExpressionError)), (text, result)
    assert seconds < 2.0, (text, seconds)
    if isinstance(result, Surface):
        _, _, z = result.grid(200)  # the grid f_min is checked against
        assert result.f_min <= np.nanmin(z)
