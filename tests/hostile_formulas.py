"""Hostile formulas: text typed into (or linked to) the custom-formula box that tries to run code, read
or write files, exhaust CPU or memory, or smuggle syntax past the parser. Data only; the tests are in
tests/test_hardening.py.

``CORPUS`` holds :class:`Hostile` entries. ``expect`` says what ``surfaces.from_expression`` must do:

* ``REFUSE``: raise ``ExpressionError`` within 1 s;
* ``MATH``: valid mathematics under the caps: return a Surface within 2 s;
* ``EITHER``: valid mathematics at or past a cap, or undefined over much of the domain: either.

``LIVE`` holds attacks that really do create (or append to) the file ``@MARKER@`` when executed the way
a naive implementation would: ``run="exec"`` is Python's ``exec`` with ``from sympy import *`` and
``x, y = symbols("x y")`` in scope (as ``sympify`` with a namespace would), ``run="sympify"`` is
``sympy.sympify(text)`` itself. A test executes every LIVE entry in a throw-away subprocess to prove it
is live (each writes its own marker under a temporary directory); the hardening test then feeds them
all to the parser and checks that no marker appears. ``marked(text, path)`` fills in the marker path.
"""
from __future__ import annotations

from typing import NamedTuple

REFUSE, MATH, EITHER = "refuse", "math", "either"
MARKER = "@MARKER@"


class Hostile(NamedTuple):
    id: str
    text: str
    expect: str = REFUSE


class Live(NamedTuple):
    id: str
    text: str            # contains MARKER where the file path goes
    run: str = "exec"    # how a naive implementation would have run it: "exec" or "sympify"


def marked(text: str, path) -> str:
    return text.replace(MARKER, str(path))


LIVE = [
    Live("os-system", f"__import__('os').system('touch {MARKER}')"),
    Live("os-popen", f"__import__('os').popen('touch {MARKER}').read()"),
    Live("open-append", f"open('{MARKER}', 'a').write('pwned')"),
    Live("pathlib-touch", f"__import__('pathlib').Path('{MARKER}').touch()"),
    Live("subprocess", f"__import__('subprocess').call(['touch', '{MARKER}'])"),
    Live("shutil-copy-reads-a-file", f"__import__('shutil').copy('/etc/hostname', '{MARKER}')"),
    Live("getattr-import", f"getattr(__import__('os'), 'system')('touch {MARKER}')"),
    Live("lambda-called", f"(lambda: open('{MARKER}', 'a'))()"),
    Live("list-comprehension", f"[open('{MARKER}', 'a') for _ in (1,)]"),
    Live("map-open", f"[*map(open, ['{MARKER}'], ['a'])]"),
    Live("type-with-init", f"type('A', (), {{'__init__': lambda s: open('{MARKER}', 'a') and None}})()"),
    Live("subclasses-walk",
         "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == '_wrap_close'][0]"
         f".__init__.__globals__['system']('touch {MARKER}')"),
    Live("eval-string", f"eval(\"open('{MARKER}', 'a')\")"),
    Live("exec-compile", f"exec(compile(\"open('{MARKER}', 'a')\", 's', 'exec'))"),
    Live("after-semicolon", f"x; open('{MARKER}', 'a')"),
    Live("after-newline", f"x\nopen('{MARKER}', 'a')"),
    Live("f-string", f"f\"{{open('{MARKER}', 'a')}}\""),
    Live("walrus", f"(m := open('{MARKER}', 'a'))"),
    Live("inside-allowed-function", f"sin(open('{MARKER}', 'a').close() or 1)"),
    Live("in-a-sum", f"x + (open('{MARKER}', 'a').close() or 1)"),
    Live("conditional", f"x if open('{MARKER}', 'a') else y"),
    Live("sympy-function-arg", f"Function('f')(open('{MARKER}', 'a').close() or x)"),
    Live("sympy-lambda-body", f"Lambda(x, open('{MARKER}', 'a').close() or x)"),
    Live("sympify-string", f"sympify(\"open('{MARKER}', 'a')\")"),
    Live("S-string", f"S(\"open('{MARKER}', 'a').close() or 1\")"),
    Live("parse_expr-string", f"parse_expr(\"__import__('os').system('touch {MARKER}')\")"),
    # What sympify does with an unknown function called with a string: it parses the string, too.
    Live("unknown-call-string-arg", f"f(\"open('{MARKER}', 'a').close() or 1\")", "sympify"),
    Live("unknown-call-os-system", f"foo(\"__import__('os').system('touch {MARKER}')\")", "sympify"),
    Live("allowed-call-string-arg", f"sin(\"open('{MARKER}', 'a').close() or 1\")", "sympify"),
    Live("max-string-arg", f"Max(x, \"open('{MARKER}', 'a').close() or 1\")", "sympify"),
    Live("sympify-symbol-plus-S", f"Symbol('x') + S(\"open('{MARKER}', 'a').close() or 1\")", "sympify"),
    Live("sympify-lambda-string", f"Lambda(x, \"open('{MARKER}', 'a').close() or 1\")", "sympify"),
]

_A = "a" * 450

CORPUS = [
    # -- attribute chains and dunder names
    Hostile("subclasses-chain", "().__class__.__base__.__subclasses__()"),
    Hostile("mro-of-x", "x.__class__.__mro__[-1].__subclasses__()"),
    Hostile("int-attribute", "(1).__class__"),
    Hostile("float-attribute", "1..real*x"),
    Hostile("constant-attribute", "pi.__class__.__init__.__globals__"),
    Hostile("function-attribute", "sin.__globals__['__builtins__']"),
    Hostile("method-call", "x.subs(x, 1)"),
    Hostile("result-attribute", "sin(x).func.__module__"),
    Hostile("builtins-name", "__builtins__"),
    Hostile("import-name", "x + __import__"),
    Hostile("dunder-file", "__file__"),
    Hostile("dunder-debug", "__debug__*x"),
    # -- lambdas, comprehensions, strings, f-strings, walrus
    Hostile("lambda", "lambda: x"),
    Hostile("lambda-varargs", "lambda *a, **k: 0"),
    Hostile("called-lambda", "(lambda x: x**2)(y)"),
    Hostile("list-comprehension-huge", "[x for x in range(10**12)]"),
    Hostile("generator-sum", "sum(x for x in range(10**12))"),
    Hostile("dict-comprehension", "{x: y for x in y}"),
    Hostile("string", "'x**2'"),
    Hostile("triple-quoted", '"""x"""'),
    Hostile("raw-bytes", "rb'x'"),
    Hostile("escaped-string", "'\\x78'"),
    Hostile("string-times-huge", "'a' * 10**10"),
    Hostile("percent-format", "'%s' % x"),
    Hostile("f-string-import", "f'{__import__(\"os\")}'"),
    Hostile("f-string-format-spec", "f'{x:{y}}'"),
    Hostile("walrus", "(z := 1) + x"),
    Hostile("walrus-in-list", "[y := 5, y**2]"),
    # -- statements after ';', newlines and other separators
    Hostile("semicolon-import", "x; import os"),
    Hostile("newline-import", "x\nimport os"),
    Hostile("carriage-return", "x\r__import__('os')"),
    Hostile("form-feed", "x\x0cy"),
    Hostile("vertical-tab", "x\x0bimport os"),
    Hostile("line-separator", "x\u2028y"),
    Hostile("next-line", "x\u0085y"),
    Hostile("backslash-continuation", "x \\\n+ y"),
    Hostile("comment", "x + y # ; import os"),
    Hostile("while-loop", "while True: pass"),
    Hostile("def", "def f(): return 1"),
    Hostile("class", "class A: pass"),
    Hostile("from-import", "from os import *"),
    Hostile("raise", "raise SystemExit"),
    Hostile("exit-call", "exit()"),
    Hostile("with-open", "with open('/etc/passwd') as f: f.read()"),
    # -- unknown calls, often with a string argument; SymPy constructors that parse strings
    Hostile("open-passwd", "open('/etc/passwd').read()"),
    Hostile("unknown-call-string", "foo('bar')"),
    Hostile("symbol", "Symbol('x')"),
    Hostile("sympify", "sympify('x**2')"),
    Hostile("S", "S('x')"),
    Hostile("function-called", "Function('f')(x)"),
    Hostile("sympy-lambda", "Lambda(x, x**2)"),
    Hostile("parse-expr", "parse_expr('x')"),
    Hostile("float-string", "Float('1e999')"),
    Hostile("rational-string", "Rational('1/0')"),
    Hostile("matrix-string", "Matrix(2, 2, 'abcd')"),
    Hostile("allowed-function-string-arg", "exp('x')"),
    Hostile("allowed-function-keyword", "sin(x, key='v')"),
    Hostile("allowed-function-star-string", "sqrt(*'x')"),
    Hostile("eval", "eval('x')"),
    Hostile("getattr", "getattr(x, 'real')"),
    Hostile("globals", "globals()"),
    Hostile("breakpoint", "breakpoint()"),
    Hostile("call-of-a-call", "sin(x)(y)"),
    Hostile("call-of-a-name", "x(y)"),
    # -- look-alikes: Python's parser would normalise these identifiers (NFKC) to ASCII ones
    Hostile("fullwidth-x", "ｘ^2 + y^2"),
    Hostile("fullwidth-import", "＿＿import＿＿('os')"),
    Hostile("fullwidth-eval", "ｅｖａｌ('x')"),
    Hostile("cyrillic-x", "х^2 + y^2"),
    Hostile("cyrillic-y", "x^2 + у^2"),
    Hostile("greek-chi", "χ^2 + y^2"),
    Hostile("math-italic-x", "𝑥^2 + y^2"),
    Hostile("roman-numeral-ten", "ⅹ + y"),
    Hostile("unicode-minus", "x − y"),
    Hostile("multiplication-sign", "2×x + y"),
    Hostile("zero-width-space", "x\u200b+ y"),
    Hostile("right-to-left-override", "x + y\u202e)'so'(tropmi__"),
    Hostile("combining-accent", "x\u0301 + y"),
    Hostile("no-break-space", "x\u00a0+ y"),
    Hostile("byte-order-mark", "\ufeffx + y"),
    # -- NUL and other control characters
    Hostile("nul-inside", "x\x00 + y"),
    Hostile("nul-then-code", "x\x00__import__('os')"),
    Hostile("many-nuls", "\x00" * 1000),
    Hostile("escape-sequence", "x\x1b[31m + y"),
    Hostile("delete-character", "x\x7f + y"),
    # -- megabyte inputs
    Hostile("megabyte-of-x", "x" * 1_000_000),
    Hostile("megabyte-sum", "x+" * 500_000 + "x"),
    Hostile("megabyte-digits", "1" * 1_000_000),
    Hostile("megabyte-parentheses", "(" * 500_000 + "x" + ")" * 500_000),
    Hostile("megabyte-non-ascii", "é" * 500_000),
    Hostile("megabyte-of-whitespace-around-a-formula", " " * 1_000_000 + "x^2 + y^2" + "\t" * 1000, MATH),
    # -- deep nesting
    Hostile("nested-abs", "abs(" * 60 + "x" + ")" * 60),
    Hostile("unary-plus-chain", "+" * 400 + "x"),
    Hostile("nested-negation", "-(" * 100 + "x" + ")" * 100),
    Hostile("right-nested-power", "x" + "**x" * 60),
    Hostile("exactly-thirty-levels", "(" * 30 + "x" + ")" * 30, MATH),
    # -- towers of powers, huge factorials and gamma, huge numbers
    Hostile("power-tower", "2**3**4**5**6"),
    Hostile("power-tower-caret", "x^9^9"),
    Hostile("power-of-power", "(x^99)^99"),
    Hostile("exponent-at-the-cap", "x^100 + y^100", MATH),
    Hostile("x-tower", "x^x^x^x^x^x^x^x", EITHER),
    Hostile("factorial-call", "factorial(10**6)"),
    Hostile("factorial-bang", "100000!"),
    Hostile("gamma-call", "gamma(1e10)*x"),
    Hostile("gamma-greek", "Γ(x)"),
    Hostile("exp-of-exp", "exp(exp(exp(100)))*x"),
    Hostile("cosh-overflow", "cosh(1000)*x"),
    Hostile("just-under-1e300", "exp(690)*x", EITHER),
    Hostile("huge-integer-literal", "9" * 400 + "*x"),
    Hostile("huge-decimal-literal", "1" + "0" * 20 + "." + "0" * 300 + "*x"),
    Hostile("literal-1e309", "1e309"),
    Hostile("literal-1e309-times-x", "1e309*x"),
    Hostile("negative-1e309", "-1e309*x"),
    Hostile("literal-at-the-cap", "1e15*x + y", MATH),
    Hostile("literal-past-the-cap", "1000000000000001*x"),
    Hostile("product-past-1e300", "(10^15)^21*x"),
    Hostile("tiny-divisor", "x/1e-320"),
    Hostile("underflow-to-a-constant", "1e-400*x"),
    Hostile("hex-literal", "0x1F*x + y", MATH),
    Hostile("underscored-literal", "1_000*x + y", MATH),
    Hostile("complex-literal", "2J*x"),
    # -- undefined and non-real values
    Hostile("zero-to-minus-one", "0**-1"),
    Hostile("zero-to-minus-one-plus-x", "0^-1 + x"),
    Hostile("zero-float-to-negative-power", "0.0**-0.5*x"),
    Hostile("zero-to-zero", "0^0*x + y", MATH),
    Hostile("negative-to-half", "(-1)**0.5*x"),
    Hostile("acos-out-of-range", "acos(2)*x"),
    Hostile("log-of-negative", "log(-1)*x"),
    Hostile("tan-at-a-pole", "tan(pi/2)*x"),
    Hostile("cancelled-denominator", "1/(x-x+0)"),
    Hostile("undefined-nearly-everywhere", "log(log(log(x)))"),
    Hostile("pole-on-an-axis", "1/(x*y)", EITHER),
    # -- names SymPy or NumPy would understand, and Python constants
    Hostile("nan-name", "nan*x"),
    Hostile("inf-name", "inf*x"),
    Hostile("sympy-oo", "oo*x"),
    Hostile("sympy-zoo", "zoo + x"),
    Hostile("sympy-I", "I*x"),
    Hostile("sympy-E", "E*x"),
    Hostile("none", "None"),
    Hostile("ellipsis", "..."),
    Hostile("true-times-x", "x*False"),
    # -- other operators and brackets
    Hostile("chained-comparison", "x < y < 1"),
    Hostile("is-not", "x is not y"),
    Hostile("or", "x or y"),
    Hostile("bit-or", "x | y"),
    Hostile("bit-invert", "~x"),
    Hostile("shift", "x >> 1"),
    Hostile("slice", "x[1:2]"),
    Hostile("tuple", "x, y"),
    Hostile("dict", "{'a': x}"),
    Hostile("set", "{x, y}"),
    Hostile("list-times-huge", "[0] * 10**10"),
    Hostile("double-caret", "x ^^ y"),
    Hostile("backtick", "`x`"),
    Hostile("dollar", "$x"),
    Hostile("backslash", "\\x41"),
    Hostile("question-mark", "x?"),
    Hostile("decorator-at", "@x"),
    # -- markup that would render if a message echoed it into HTML, Markdown or KaTeX
    Hostile("script-tag", "<script>alert(1)</script>"),
    Hostile("img-onerror", "<img src=x onerror=alert(1)>"),
    Hostile("markdown-link", "[a](javascript:alert(1))"),
    Hostile("katex-href", "$\\href{javascript:alert(1)}{x}$"),
    Hostile("html-comment", "x<!--"),
    Hostile("bold-markdown", "**x**"),
    # -- long inputs whose refusal message could echo them (see the echo test)
    Hostile("long-unknown-name", _A),
    Hostile("long-unknown-function", _A + "(x)"),
    Hostile("long-name-in-a-sum", "x*" + "y" * 400),
    Hostile("long-double-underscore-name", "__" + "a" * 400),
    Hostile("long-product-too-large", "(" + "*".join(["9"] * 40) + ")^90*x"),
    Hostile("long-missing-operator", "2" * 100 + "x"),
    Hostile("long-dangling-operator", "sin(x)" + "+" * 300),
    Hostile("long-exp-too-large", "exp(" + "+".join(["100"] * 50) + ")*x"),
]

assert len({h.id for h in CORPUS}) == len(CORPUS), "corpus ids must be unique"
assert len({h.id for h in LIVE}) == len(LIVE), "live ids must be unique"
assert all(MARKER in h.text for h in LIVE)
assert all(h.expect in (REFUSE, MATH, EITHER) for h in CORPUS)
