"""Loss surfaces: SymPy expressions with exact, compiled value, gradient and Hessian.

    >>> import surfaces
    >>> s = surfaces.get("rosenbrock")
    >>> s.f([[1.0, 1.0]]), s.grad([[0.0, 0.0]])

``surfaces.from_expression(text)`` builds a Surface from a formula a person types, without ever
evaluating the text as code.
"""
from .base import Surface
from .catalog import Param, get, names, params
from .expression import ExpressionError, from_expression

__all__ = ["Surface", "Param", "get", "names", "params", "from_expression", "ExpressionError"]
