"""A rule, recorded: its update of one coordinate of one run as a list of operations.

The rules are written once, for NumPy arrays and for Python floats (see ``base``). Given the recorded
values defined here instead, the same code writes down what it computes — ``m *= β₁`` becomes a
multiplication node — and the compiled engine (``kernel``) turns that list into C. Nothing is
written twice: the program is whatever the rule's module does.

Each value has a *kind*, the set of things it varies with: ``STEP`` (t and α_t), ``RUN`` (a per-run
hyperparameter) and ``ELEM`` (the point, the gradient and the per-coordinate state). Constants (the
hyperparameters shared by every run) have kind 0. The kind of an operation is the union of its
operands' kinds, so the compiled loop computes each value where it can: once per step, once per run
and step, or once per coordinate.

Python control flow on a recorded value can only follow one branch. A branch on a step-only value
(SGD's ``if t == 1``) is explored both ways: :func:`trace` records each path with the decisions that
lead to it, and the compiled step picks the path whose decisions hold at that t. A branch on a
per-run or per-coordinate value, or anything else the recorder does not know, raises
:class:`Untraceable`, and the run uses the NumPy engine instead.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from .base import Step

STEP, RUN, ELEM = 1, 2, 4
MAX_PATHS = 8


class Untraceable(Exception):
    """The rule did something the recorder cannot follow."""


@dataclass(frozen=True)
class Op:
    """One operation: ``name`` applied to ``args`` (node indices, or Python floats for constants)."""

    name: str
    args: tuple
    kind: int


class Tape:
    """The operations of one recorded update, in order; ``decide`` answers Python's ``if``."""

    def __init__(self, forced=()):
        self.ops: list[Op] = []
        self.forced = list(forced)
        self.decisions: list[tuple[int, bool]] = []

    def add(self, name, *args, kind=None) -> "Value":
        if kind is None:
            kind = 0
            for a in args:
                if isinstance(a, Value):
                    kind |= a.kind
        if name == "in":
            refs = (("name", args[0]),)
        else:
            refs = tuple(("n", a.i) if isinstance(a, Value) else ("c", _constant(a)) for a in args)
        self.ops.append(Op(name, refs, kind))
        return Value(self, len(self.ops) - 1, kind)

    def decide(self, v: "Value") -> bool:
        if v.kind & (RUN | ELEM):
            raise Untraceable("the rule branches on a per-run or per-coordinate value")
        n = len(self.decisions)
        answer = self.forced[n] if n < len(self.forced) else False
        self.decisions.append((v.i, answer))
        return answer


def _constant(a) -> float:
    if isinstance(a, (bool, np.bool_)):
        return float(a)
    if isinstance(a, (int, float, np.integer, np.floating)):
        return float(a)
    raise Untraceable(f"cannot record an operand of type {type(a).__name__}")


_BINARY = {"add": "add", "subtract": "sub", "multiply": "mul", "true_divide": "div", "power": "pow",
           "maximum": "max", "minimum": "min", "greater": "gt", "greater_equal": "ge", "less": "lt",
           "less_equal": "le", "equal": "eq", "not_equal": "ne"}
_UNARY = {"sqrt": "sqrt", "absolute": "abs", "negative": "neg", "sign": "sign", "square": "square"}


class Value:
    """A recorded number. Arithmetic, comparisons, ``abs`` and the NumPy ufuncs and ``np.where`` that
    the rules use are recorded; anything that needs the number itself raises :class:`Untraceable`."""

    __slots__ = ("tape", "i", "kind")
    __array_priority__ = 1000

    def __init__(self, tape, i, kind):
        self.tape, self.i, self.kind = tape, i, kind

    # arithmetic (augmented assignments rebind, as they do for floats)
    def __add__(self, o): return self.tape.add("add", self, o)
    def __radd__(self, o): return self.tape.add("add", o, self)
    def __sub__(self, o): return self.tape.add("sub", self, o)
    def __rsub__(self, o): return self.tape.add("sub", o, self)
    def __mul__(self, o): return self.tape.add("mul", self, o)
    def __rmul__(self, o): return self.tape.add("mul", o, self)
    def __truediv__(self, o): return self.tape.add("div", self, o)
    def __rtruediv__(self, o): return self.tape.add("div", o, self)
    def __pow__(self, o): return self.tape.add("pow", self, o)
    def __rpow__(self, o): return self.tape.add("pow", o, self)
    def __neg__(self): return self.tape.add("neg", self)
    def __pos__(self): return self
    def __abs__(self): return self.tape.add("abs", self)
    def __gt__(self, o): return self.tape.add("gt", self, o)
    def __ge__(self, o): return self.tape.add("ge", self, o)
    def __lt__(self, o): return self.tape.add("lt", self, o)
    def __le__(self, o): return self.tape.add("le", self, o)
    def __eq__(self, o): return self.tape.add("eq", self, o)          # noqa: E704
    def __ne__(self, o): return self.tape.add("ne", self, o)          # noqa: E704
    __hash__ = None

    def __bool__(self):
        return self.tape.decide(self)

    def __float__(self):
        raise Untraceable("the rule needs a recorded value as a number")

    __int__ = __index__ = __float__

    def copy(self, order="K"):
        return self

    def f32(self):
        """Rounded to float32 and back (``base.f32``)."""
        return self.tape.add("f32", self)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or kwargs:
            raise Untraceable(f"cannot record {ufunc.__name__}.{method} with {sorted(kwargs)}")
        name = _BINARY.get(ufunc.__name__) or _UNARY.get(ufunc.__name__)
        if name is None or len(inputs) != ufunc.nin:
            raise Untraceable(f"cannot record numpy.{ufunc.__name__}")
        tape = next(a.tape for a in inputs if isinstance(a, Value))
        if name == "square":
            return tape.add("mul", inputs[0], inputs[0])
        return tape.add(name, *inputs)

    def __array_function__(self, func, types, args, kwargs):
        if func is np.where and len(args) == 3 and not kwargs:
            tape = next(a.tape for a in args if isinstance(a, Value))
            return tape.add("where", *args)
        raise Untraceable(f"cannot record numpy.{func.__name__}")


@dataclass(frozen=True)
class Path:
    """One recorded update: its operations, the decisions that select it, and what it returns (node
    indices or floats)."""

    ops: tuple
    decisions: tuple          # ((node, value), …): the step-only conditions under which this path runs
    delta: object
    state: tuple
    aux: dict


@dataclass(frozen=True)
class Program:
    """Every path of a rule's update, with the inputs they read.

    ``inputs`` maps each input node name (``g``, ``xy``, ``t``, ``lr``, ``p.<hyper>``, ``h.<hyper>``,
    ``s.<field>``) to its kind; ``state_kinds`` gives each state field's kind (None: a constant the
    rule passes through unchanged)."""

    paths: tuple
    inputs: dict
    state_kinds: tuple
    state_names: tuple


def _ref(v):
    return ("n", v.i) if isinstance(v, Value) else ("c", _constant(v))


def _record(rule, h_traced, lr_kind, state_in, internals, forced):
    """One pass of ``rule.update`` on recorded inputs; the inputs are the first nodes, in a fixed order."""
    tape = Tape(forced)
    inputs = {}

    def inp(name, kind):
        inputs[name] = kind
        return tape.add("in", name, kind=kind)

    g, xy, t = inp("g", ELEM), inp("xy", ELEM), inp("t", STEP)
    lr = inp("lr", lr_kind)
    h = SimpleNamespace(**{k: (inp(v[0], v[1]) if isinstance(v, tuple) else v) for k, v in h_traced.items()})
    state = [inp(f"s.{i}", kind) if kind is not None else value for i, (kind, value) in enumerate(state_in)]
    state = state_in.template(*state)
    delta, new_state, aux = rule.update(g, state, Step(t, lr, xy, None, internals), h)
    return tape, inputs, delta, tuple(new_state), dict(aux)


class _StateIn(list):
    template: type


def trace(rule, h: SimpleNamespace, init_state, per_run: set, internals: bool) -> Program:
    """Record ``rule.update`` on every step-only branch.

    ``h`` holds the bound hyperparameters (as the rule reads them); ``per_run`` names those that are
    per-run arrays. Nonzero shared numbers become constant inputs ``p.<name>`` (so one compiled program
    serves every value), zeros stay zeros (rules test ``is_zero``), flags stay flags. ``init_state`` is
    the rule's initial state for the batch: an array field with the run on its first axis is per run
    (``RUN``) or per coordinate (``ELEM``); a float is a constant until the update changes it.
    """
    h_traced, lr_kind = {}, STEP
    for key, v in vars(h).items():
        if key in per_run:
            h_traced[key] = (f"h.{key}", RUN)
            if key == "lr":
                lr_kind = STEP | RUN
        elif isinstance(v, (bool, np.bool_)) or v == 0.0 or not isinstance(v, float):
            h_traced[key] = v
        else:
            h_traced[key] = (f"p.{key}", 0)
    kinds = []
    for v in init_state:
        if isinstance(v, np.ndarray):
            kinds.append(ELEM if v.ndim == 2 and v.shape[1] == 2 else RUN)
        else:
            kinds.append(None)
    for _ in range(4):                                  # the state's kinds, to a fixed point
        state_in = _StateIn(zip(kinds, init_state))
        state_in.template = type(init_state)
        paths, inputs = _explore(rule, h_traced, lr_kind, state_in, internals)
        new = list(kinds)
        for path in paths:
            for i, out in enumerate(path.state):
                if out[0] == "n":
                    k = path.ops[out[1]].kind
                    new[i] = (new[i] or 0) | k | (STEP if new[i] is None else 0)
                elif kinds[i] is None and out[1] != _constant(init_state[i]):
                    new[i] = STEP
        if new == kinds:
            break
        kinds = new
    else:
        raise Untraceable("the state's kinds do not settle")
    if len({tuple(p.aux) for p in paths}) > 1:
        raise Untraceable("the branches record different internals")
    return Program(tuple(paths), inputs, tuple(kinds), tuple(type(init_state)._fields))


def _explore(rule, h_traced, lr_kind, state_in, internals):
    """Every combination of step-only decisions, depth first."""
    paths, todo, inputs = [], [()], {}
    while todo:
        forced = todo.pop()
        tape, inputs, delta, state, aux = _record(rule, h_traced, lr_kind, state_in, internals, forced)
        for n in range(len(forced), len(tape.decisions)):
            todo.append(tuple(d for _, d in tape.decisions[:n]) + (True,))
        paths.append(Path(tuple(tape.ops), tuple(tape.decisions), _ref(delta), tuple(map(_ref, state)),
                          {k: _ref(v) for k, v in aux.items()}))
        if len(paths) > MAX_PATHS:
            raise Untraceable("too many branches")
    return paths, inputs
