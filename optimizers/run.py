"""The one loop that steps an optimizer over a batch of K runs on a surface.

It owns what no single rule should: gradient noise, learning-rate schedules, projection onto a
constrained box, divergence detection and what is recorded. Step t uses the gradient of f_t at θ_{t-1}
(f_t = f for static surfaces); ``loss[:, k]`` is f_k(θ_k).

Divergence never raises and never leaks NaN or inf: a run whose gradient, point or loss becomes
non-finite, or whose point leaves a box ``LIMIT_SPANS`` domain-widths around the domain, is frozen at its
last finite point and ``diverged_at`` records the step (−1 if never; 0 if the start itself is invalid).

Three engines compute the same numbers:

* ``"array"`` steps all K runs at once on (K, 2) arrays (laid out column by column, so x and y are
  contiguous). Each step is the rule, one fused evaluation of f and ∇f written into preallocated
  buffers, and a divergence check of four reductions; points and losses are written straight into the
  recorded arrays. Only when a check fails is the exact per-run test made and the run frozen. Summaries
  (best loss, path length, first converged step) are computed in blocks of steps from what was
  recorded: lazily from the path with ``record="path"``, from a small ring of recent steps (O(K)
  memory) with ``record="summary"``.
* ``"scalar"`` runs the same rule code on Python floats, one coordinate at a time, with the surface's
  expressions compiled for the ``math`` module. For a handful of runs this is several times faster than
  NumPy, whose cost per call dominates on tiny arrays. It needs an elementwise rule (not Newton) and a
  surface with ``scalar_kernels``; if Python's float arithmetic raises (an overflow in ``**``, a division
  by zero) the run is redone by the array engine, whose IEEE arithmetic the results are defined by.

* ``"compiled"`` (``kernel``) runs the same rule code once on recorded values, turns what it did into
  C fused with the surface's f and ∇f, and runs all steps of all runs in one call: one pass over each
  run's state per step instead of one per operation. It has the array engine's semantics; it needs an
  elementwise rule, a surface with a C form and a C compiler (a kernel is built once, in ~0.3 s, and kept
  on disk). With ``record="summary"`` it keeps two rows of points and updates the summaries as it goes.

``engine="auto"`` uses the compiled engine when its kernel is built already or the work (K·steps) is
``COMPILE_NOW`` or more; otherwise the scalar engine for at most ``SCALAR_MAX_RUNS`` runs when it can,
else the array engine.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from types import SimpleNamespace
from typing import Any

import numpy as np

from .base import Optimizer, Step
from .schedules import Schedule

MAX_STEPS = 100_000
MAX_RUNS = 1_000_000
MAX_PATH_VALUES = 150_000_000      # K·(steps+1) points kept in record="path" (≈ 2.4 GB of float64 pairs)
LIMIT_SPANS = 100.0                # "generous box": this many domain widths from the domain's centre
REACH_SPANS = 1e-2                 # a run has reached a minimum when it ends this close (× domain width)
CONVERGE_SPANS = 1e-3              # converged: within this distance of a known minimum …
CONVERGE_LOSS = 1e-6               # … or within this loss gap of f_min
SCALAR_MAX_RUNS = 4                # engine="auto": Python floats up to this many runs, NumPy above …
COMPILE_NOW = 10_000_000           # … unless the compiled engine is built, or K·steps is this large
ENGINES = ("auto", "array", "scalar", "compiled")
_BIG = np.finfo(float).max


@dataclass(frozen=True, eq=False)
class Trajectory:
    """What a run produced. ``path``/``loss``/``internals`` are None/empty with ``record="summary"``.

    With ``record="path"``, ``best_loss``, ``converged_at`` and ``path_length`` are computed from the path
    the first time they are read. ``path`` (K, steps+1, 2), ``loss`` (K, steps+1) and each internal
    (K, steps, 2) may be strided views (the loop writes one step of all runs at a time)."""

    optimizer: Optimizer
    surface: object
    steps: int
    final: np.ndarray            # (K, 2) last point (the last finite one for diverged runs)
    final_loss: np.ndarray       # (K,)
    diverged_at: np.ndarray      # (K,) int, −1 if never
    minimum: np.ndarray          # (K,) index into surface.minima of the minimum reached, −1 if none
    path: np.ndarray | None = None          # (K, steps+1, 2)
    loss: np.ndarray | None = None          # (K, steps+1)
    internals: dict = field(default_factory=dict)   # name → (K, steps, 2)
    engine: str = "array"                   # which engine computed it: "array" or "scalar"
    summary: Any = field(default=None, repr=False)  # the summaries, or a function computing them

    @cached_property
    def _summaries(self) -> dict:
        return self.summary() if callable(self.summary) else self.summary

    @property
    def best_loss(self) -> np.ndarray:
        """(K,) lowest loss along the run."""
        return self._summaries["best_loss"]

    @property
    def converged_at(self) -> np.ndarray:
        """(K,) int, first step within ``tol`` of f_min or ``CONVERGE_SPANS`` of a minimum, −1 if never."""
        return self._summaries["converged_at"]

    @property
    def path_length(self) -> np.ndarray:
        """(K,) sum of |Δθ|."""
        return self._summaries["path_length"]

    @property
    def k(self) -> int:
        return len(self.final)


def _as_starts(start) -> np.ndarray:
    xy = np.array(start, dtype=float)
    if xy.ndim == 1:
        xy = xy[None, :]
    if xy.ndim != 2 or xy.shape[1] != 2 or len(xy) == 0:
        raise ValueError(f"start must have shape (2,) or (K, 2), got {np.shape(start)}")
    if len(xy) > MAX_RUNS:
        raise ValueError(f"at most {MAX_RUNS:,} runs at once, got {len(xy):,}")
    return xy


def _per_run(name, value, k):
    arr = np.asarray(value, dtype=float)
    if arr.ndim > 1 or (arr.ndim == 1 and len(arr) != k):
        raise ValueError(f"{name} must be a number or have one value per run ({k}), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    return float(arr) if arr.ndim == 0 else arr[:, None]


@dataclass
class _Setup:
    """Everything both engines read, validated once."""

    optimizer: Optimizer
    surface: Any
    xy: np.ndarray
    steps: int
    h: SimpleNamespace
    sigma: Any
    scale: Any
    keep: np.ndarray
    sparse: bool
    factors: list
    seed: int
    record: str
    internals: bool
    tol: float
    center: np.ndarray
    limit: float
    bounds: np.ndarray | None

    @property
    def k(self) -> int:
        return len(self.xy)


def run(optimizer: Optimizer, surface, start, steps: int, *, noise=0.0, seed: int = 0,
        record_internals: bool = False, schedule: Schedule | None = None, record: str = "path",
        tol: float = CONVERGE_LOSS, loss_scale=1.0, grad_keep=(1.0, 1.0), engine: str = "auto",
        background_build: bool = False) -> Trajectory:
    """Run ``optimizer`` from ``start`` ((2,) or (K, 2)) for ``steps`` steps on ``surface``.

    ``noise`` is σ (scalar or per run) of Gaussian noise added to every gradient, drawn from
    ``numpy.random.default_rng(seed)``. ``loss_scale`` k (scalar or per run) minimises k·f instead of f
    (losses are recorded as f). ``grad_keep`` gives, per coordinate, the probability that its gradient is
    observed at a step (a seeded mask; 1 = always): sparse gradients. ``record`` is "path" (keep every
    point) or "summary" (keep only per-run summaries: memory O(K)). ``record_internals`` fills
    ``internals`` with ``grad``, ``update`` and the rule's own quantities (``m``, ``v``, ``m_hat``,
    ``v_hat``, ``v_max``, ``lr_eff`` …). ``engine`` is "auto", "array", "scalar" or "compiled" (see the
    module docstring; the numbers agree to rounding). With ``background_build``, an "auto" run that
    could use a compiled kernel not built yet starts building it in a background thread, for the runs
    that come after it.
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 0 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be a whole number from 0 to {MAX_STEPS:,}, got {steps!r}")
    if record not in ("path", "summary"):
        raise ValueError(f"record must be 'path' or 'summary', got {record!r}")
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(map(repr, ENGINES))}, got {engine!r}")
    steps = int(steps)
    xy = _as_starts(start)
    if len(xy) == 1 and (optimizer.batch or 1) > 1:
        xy = np.repeat(xy, optimizer.batch, axis=0)   # one start shared by every run of a sweep
    k = len(xy)
    if record == "path" and k * (steps + 1) > MAX_PATH_VALUES:
        raise ValueError(f"{k:,} runs × {steps:,} steps is too many points to keep; use record='summary'")
    if record_internals and record != "path":
        raise ValueError("record_internals needs record='path'")
    h = optimizer.bind(k)
    keep = np.asarray(grad_keep, dtype=float)
    if keep.shape != (2,) or not np.all((keep >= 0) & (keep <= 1)):
        raise ValueError(f"grad_keep must be two probabilities in [0, 1], got {grad_keep!r}")
    c = _Setup(optimizer=optimizer, surface=surface, xy=xy, steps=steps, h=h,
               sigma=_per_run("noise", noise, k), scale=_per_run("loss_scale", loss_scale, k), keep=keep,
               sparse=bool(np.any(keep < 1)), factors=(schedule or Schedule()).factors(steps).tolist(),
               seed=seed, record=record, internals=bool(record_internals), tol=tol,
               center=np.array([np.mean(surface.domain[0]), np.mean(surface.domain[1])]),
               limit=LIMIT_SPANS * surface.span,
               bounds=np.array(surface.bounds, dtype=float) if surface.bounds is not None else None)
    scalar_ok = getattr(optimizer.rule, "ELEMENTWISE", True) and getattr(surface, "scalar_kernels", None)
    if engine == "scalar" and not scalar_ok:
        raise ValueError(f"engine='scalar' needs an elementwise rule and a surface with scalar kernels "
                         f"({optimizer.name} on {getattr(surface, 'name', surface)!r} has not)")
    if engine == "scalar" and k * (steps + 1) > MAX_PATH_VALUES:
        raise ValueError("engine='scalar' keeps every point; use the array engine for this many runs × steps")
    if engine in ("compiled", "auto"):
        from . import kernel
        try:
            return kernel.run(c, build=engine == "compiled" or k * steps >= COMPILE_NOW)
        except kernel.NotBuilt as exc:                # auto: NumPy this time
            if background_build:
                kernel.build_later(exc.source)
        except kernel.Unavailable as exc:
            if engine == "compiled":
                raise ValueError(f"engine='compiled' is not available here: {exc}") from None
    if scalar_ok and (engine == "scalar" or (engine == "auto" and k <= SCALAR_MAX_RUNS)):
        try:
            return _run_scalar(c)
        except (ArithmeticError, ValueError, TypeError):
            pass                 # Python float arithmetic refused (overflow, 0/0, a complex power): NumPy's IEEE
    return _run_array(c)


# ---- summaries, from recorded steps -------------------------------------------------------------------

def _block(k: int, steps: int) -> int:
    """Steps per block of summary work (and rows of the ring with record="summary"): ~2 MB of points,
    at least 4 steps (fewer calls per step) and at most 256."""
    return max(1, min(256, steps, max(4, (1 << 17) // k)))


class _Summaries:
    """Best loss, path length and first converged step, accumulated over consecutive blocks of steps.

    ``diverged_at`` is read when a block is added: a run counts as active at step t if t < its
    divergence step (or it never diverged). The test "converged at step t" is made exactly, step by step,
    only for candidate runs: those whose lowest loss in the block is within the gap of f_min, or that
    start the block so near a minimum that their path length within it could reach its radius (no step
    of a run that starts at distance D and moves ℓ comes closer than D − ℓ)."""

    def __init__(self, surface, tol, diverged_at):
        self.diverged_at = diverged_at
        f_min = surface.f_min
        self.loss_gap = (f_min, tol * max(1.0, abs(f_min))) if np.isfinite(f_min) else None
        self.minima = np.asarray(surface.minima, dtype=float).reshape(-1, 2)
        self.radius = CONVERGE_SPANS * surface.span
        k = len(diverged_at)
        self.best = np.zeros(k)
        self.length = np.zeros(k)
        self.conv = np.full(k, -1)
        self.dist = None                                # distance to the nearest minimum at the block start
        self.final = self.final_loss = None

    def _nearest(self, xy):
        """(K,) distance from points (2, K) to the nearest known minimum."""
        x, y = xy
        best = None
        for mx, my in self.minima.tolist():
            dx, dy = x - mx, y - my
            dx *= dx
            dy *= dy
            dx += dy
            best = dx if best is None else np.minimum(best, dx, out=best)
        return np.sqrt(best, out=best)

    def start(self, xy, loss):
        """Step 0: points (2, K), losses (K,)."""
        self.best[:] = loss
        self._mark(xy[None], loss[None], 0, np.arange(len(loss)))
        if len(self.minima):
            self.dist = self._nearest(xy)

    def add(self, xy, loss, t0, cols=None):
        """Rows 1…n of points (n+1, 2, R) and losses (n+1, R) are steps t0+1 … t0+n (row 0 is step t0) of
        the runs ``cols`` (all K if None)."""
        every = cols is None
        low = loss[1:].min(axis=0)
        d = xy[1:] - xy[:-1]
        d *= d
        step = d[:, 0]
        step += d[:, 1]
        np.sqrt(step, out=step)
        moved = step.sum(axis=0)
        if every:
            np.minimum(self.best, low, out=self.best)
            self.length += moved
        else:
            self.best[cols] = np.minimum(self.best[cols], low)
            self.length[cols] += moved
        pending = self.conv < 0 if every else self.conv[cols] < 0
        if not pending.any():
            return
        cand = np.zeros_like(pending)
        if self.loss_gap:
            cand |= low - self.loss_gap[0] <= self.loss_gap[1]
        if len(self.minima):
            dist = self.dist if every else self.dist[cols]
            reach = dist - moved
            cand |= reach <= self.radius * (1 + 1e-9) + 1e-12 * (dist + moved)   # (a margin for rounding)
            if every:
                self.dist = self._nearest(xy[-1])
            else:
                self.dist[cols] = self._nearest(xy[-1])
        cand &= pending
        if cand.any():
            runs = np.flatnonzero(cand)
            self._mark(xy[1:, :, runs], loss[1:, runs], t0 + 1, runs if every else cols[runs])

    def _mark(self, xy, loss, t_first, runs):
        """The exact test for ``runs``: points (n, 2, R), losses (n, R) of steps t_first … t_first+n-1."""
        near = (loss - self.loss_gap[0] <= self.loss_gap[1]) if self.loss_gap else np.zeros(loss.shape, bool)
        if len(self.minima):
            dist = np.linalg.norm(xy.transpose(0, 2, 1)[:, :, None, :] - self.minima, axis=-1).min(axis=-1)
            near |= dist <= self.radius
        d = self.diverged_at[runs]
        t = np.arange(t_first, t_first + len(near))[:, None]
        near &= (d < 0) | (t < d)                       # active at that step
        near &= self.conv[runs] < 0
        hit = near.any(axis=0)
        if hit.any():
            self.conv[runs[hit]] = t_first + near.argmax(axis=0)[hit]

    def retire(self, cols, xy, loss):
        """The last point (2, R) and loss (R,) of runs ``cols`` (all if None)."""
        if self.final is None:
            self.final, self.final_loss = np.zeros((len(self.best), 2)), np.zeros(len(self.best))
        self.final[slice(None) if cols is None else cols] = xy.T
        self.final_loss[slice(None) if cols is None else cols] = loss

    def result(self):
        return dict(best_loss=self.best, converged_at=self.conv, path_length=self.length)


def _summaries_of_path(surface, tol, diverged_at, xy, loss, block):
    """The summaries of a recorded path: points (S+1, 2, K), losses (S+1, K), in the loop's blocks."""
    acc = _Summaries(surface, tol, diverged_at)
    acc.start(xy[0], loss[0])
    for t0 in range(0, len(loss) - 1, block):
        acc.add(xy[t0:t0 + block + 1], loss[t0:t0 + block + 1], t0)
    return acc.result()


def _finish(c, engine, final, final_loss, diverged_at, xy_rows=None, loss_rows=None, internals=None,
            summary=None):
    """The Trajectory; ``xy_rows`` (S+1, 2, K) and ``loss_rows`` (S+1, K) are the recorded steps."""
    surface = c.surface
    minimum, dist = surface.nearest_minimum(final)
    minimum = np.where(dist <= REACH_SPANS * surface.span, minimum, -1)
    if summary is None:
        block = _block(c.k, c.steps)
        summary = lambda: _summaries_of_path(surface, c.tol, diverged_at, xy_rows, loss_rows, block)  # noqa: E731
    path = loss = None
    if c.record == "path":
        path, loss = xy_rows.transpose(2, 0, 1), loss_rows.T
    return Trajectory(c.optimizer, surface, c.steps, final, final_loss, diverged_at, minimum, path, loss,
                      internals or {}, engine, summary)


# ---- the array engine -----------------------------------------------------------------------------------

def _columns(k):
    """An uninitialised (K, 2) array whose columns x and y are each contiguous."""
    return np.empty((2, k)).T


def _start(c: _Setup, P, L) -> np.ndarray:
    """Step 0 into row 0 of the points P (rows, 2, K) and losses L (rows, K); ``diverged_at`` (K,), 0 for
    an invalid start (non-finite point or loss: kept as (0, 0) with loss 0, frozen from the start)."""
    loss0 = c.surface.f(c.xy, 0)
    valid = np.isfinite(c.xy).all(-1) & np.isfinite(loss0)
    P[0] = np.where(valid[:, None], c.xy, 0.0).T
    L[0] = np.where(valid, loss0, 0.0)
    return np.where(valid, -1, 0)


def _run_array(c: _Setup) -> Trajectory:
    k, steps, rule, h, surface = c.k, c.steps, c.optimizer.rule, c.h, c.surface
    path_mode = c.record == "path"
    rows = steps if path_mode else _block(k, steps)
    P = np.empty((rows + 1, 2, k))                    # points, one step per row: P[r].T is (K, 2)
    L = np.empty((rows + 1, k))                       # losses
    rng = np.random.default_rng(c.seed)
    static = not getattr(surface, "time_varying", True) and hasattr(surface, "value_and_grad_into")
    box_lo = (c.center - c.limit * (1 - 1e-9)).tolist()   # the quick check is a little stricter than
    box_hi = (c.center + c.limit * (1 - 1e-9)).tolist()   # the exact one it stands in for
    noisy, scaled = bool(np.any(c.sigma)), bool(np.any(c.scale != 1.0))
    sigma, scale = c.sigma, c.scale
    lo, hi = (c.bounds[:, 0], c.bounds[:, 1]) if c.bounds is not None else (None, None)
    factors = c.factors
    internals: dict[str, np.ndarray] = {}

    with np.errstate(all="ignore"):
        diverged_at = _start(c, P, L)
        summ = None if path_mode else _Summaries(surface, c.tol, diverged_at)
        if summ is not None:
            summ.start(P[0], L[0])
        # The working set: the runs still stepped, ``act`` (None: all K). Runs that froze stay in it,
        # listed in ``frozen`` and put back each step, until they are many; then they leave it.
        act, ka = None, k
        frozen = np.flatnonzero(diverged_at == 0)
        frozen_P = frozen_L = None                    # path mode: the last rows of runs that left
        xy, lcur = P[0].T, L[0]
        g_bufs = [_columns(k), _columns(k)]
        g = g_bufs[0]
        g[...] = surface.grad(xy, 1)
        state = rule.init(xy, h)
        row, t0 = 0, 0

        for t in range(1, steps + 1):
            row += 1
            if row > rows:                            # record="summary": the ring is full
                summ.add(P, L, t0, act)
                P[0], L[0] = P[rows], L[rows]
                xy, lcur = P[0].T, L[0]
                t0 += rows
                row = 1
            if scaled:
                g *= scale
            if noisy:
                z = rng.standard_normal((k, 2))
                g += sigma * (z if act is None else z[act])
            if c.sparse:
                u = rng.random((k, 2)) < c.keep
                g *= u if act is None else u[act]
            if len(frozen):
                g[frozen] = 0.0
            g_sum = np.add.reduce(g, axis=None)
            step = Step(t, h.lr * factors[t - 1], xy, _hess(surface, t), c.internals)
            delta, state, aux = rule.update(g, state, step, h)
            direct = act is None or not path_mode     # the rows hold exactly the working set
            new = P[row].T if direct else _columns(ka)
            np.add(xy, delta, out=new)
            if lo is not None:
                np.clip(new, lo, hi, out=new)
            if len(frozen):
                new[frozen] = xy[frozen]
            loss = L[row] if direct else np.empty(ka)
            g_next = g_bufs[t % 2]
            if static and t < steps:
                surface.value_and_grad_into(new, t + 1, loss, g_next)
            else:
                loss[...] = surface.f(new, t)
                if t < steps:
                    g_next[...] = surface.grad(new, t + 1)
            if len(frozen):
                loss[frozen] = lcur[frozen]
            low = np.minimum.reduce(new.T, axis=1).tolist()
            high = np.maximum.reduce(new.T, axis=1).tolist()
            if not (math.isfinite(g_sum) and math.isfinite(np.add.reduce(loss))
                    and low[0] >= box_lo[0] and low[1] >= box_lo[1]
                    and high[0] <= box_hi[0] and high[1] <= box_hi[1]):
                ok = (np.isfinite(g).all(-1) & np.isfinite(new).all(-1) & np.isfinite(loss)  # the exact test
                      & (np.abs(new - c.center) <= c.limit).all(-1))
                ok[frozen] = True
                bad = np.flatnonzero(~ok)
                if len(bad):
                    diverged_at[bad if act is None else act[bad]] = t
                    new[bad] = xy[bad]
                    loss[bad] = lcur[bad]
                    frozen = np.union1d(frozen, bad)
            if c.internals:
                _record(internals, dict(grad=g, update=new - xy, **aux), t - 1, frozen, act, k, steps)
            if not direct:                            # the rows of runs that left: a template
                P[row] = frozen_P
                P[row, 0][act], P[row, 1][act] = new[:, 0], new[:, 1]   # (1-D scatters: 4x faster)
                L[row] = frozen_L
                L[row][act] = loss
            xy, lcur, g = new, loss, g_next
            if len(frozen) > ka // 8:
                # Frozen runs leave the working set once they are more than an eighth of it (restoring
                # them each step would cost more than what compacting the arrays costs once).
                gone = frozen if act is None else act[frozen]
                if path_mode:
                    if act is None:
                        frozen_P, frozen_L = np.empty((2, k)), np.empty(k)
                    frozen_P[:, gone], frozen_L[gone] = xy[frozen].T, lcur[frozen]
                    for name, arr in internals.items():
                        arr[t:, :, gone] = 0.0 if name == "update" else arr[t - 1][:, gone][None]
                else:                                 # (their later steps would add exact zeros)
                    summ.add(P[:row + 1, :, frozen], L[:row + 1, frozen], t0, gone)
                    summ.retire(gone, xy[frozen].T, lcur[frozen])
                keep = np.ones(ka, bool)
                keep[frozen] = False
                act = np.flatnonzero(keep) if act is None else act[keep]
                ka = len(act)
                if ka == 0:
                    if path_mode:
                        P[row + 1:], L[row + 1:] = frozen_P, frozen_L
                    break
                state = type(state)(*(v[keep] if isinstance(v, np.ndarray) else v for v in state))
                h = SimpleNamespace(**{key: (v[keep] if isinstance(v, np.ndarray) else v)
                                       for key, v in vars(h).items()})
                sigma = sigma[keep] if isinstance(sigma, np.ndarray) else sigma
                scale = scale[keep] if isinstance(scale, np.ndarray) else scale
                g_bufs = [_columns(ka), _columns(ka)]
                g_bufs[t % 2][...] = g[keep]              # (step t+1 writes into the other one)
                g = g_bufs[t % 2]
                if path_mode:
                    xy, lcur = np.asfortranarray(xy[keep]), lcur[keep]
                else:                                 # a narrower ring, with this block's rows so far
                    ring_P, ring_L = np.empty((rows + 1, 2, ka)), np.empty((rows + 1, ka))
                    ring_P[:row + 1], ring_L[:row + 1] = P[:row + 1, :, keep], L[:row + 1, keep]
                    P, L = ring_P, ring_L
                    xy, lcur = P[row].T, L[row]
                frozen = frozen[:0]

    if path_mode:
        return _finish(c, "array", P[steps].T.copy(), L[steps].copy(), diverged_at, P, L,
                       {name: arr.transpose(2, 0, 1) for name, arr in internals.items()})
    if ka:
        summ.add(P[:row + 1], L[:row + 1], t0, act)
        summ.retire(act, P[row], L[row])
    return _finish(c, "array", summ.final, summ.final_loss, diverged_at, summary=summ.result())


def _hess(surface, t):
    return lambda p: surface.hessian(p, t)


def _record(internals, values, i, frozen, act, k, steps):
    """Step i+1's values into row i of each (steps, 2, K) array (the working set's columns ``act``, all if
    None); frozen runs repeat their last row."""
    for name, value in values.items():
        arr = internals.get(name)
        if arr is None:
            arr = internals[name] = np.zeros((steps, 2, k))
        row = arr[i]
        if act is None:
            row.T[...] = value
            np.nan_to_num(row, copy=False, nan=0.0, posinf=_BIG, neginf=-_BIG)
        else:
            value = np.nan_to_num(np.broadcast_to(value, (len(act), 2)), nan=0.0, posinf=_BIG, neginf=-_BIG)
            row[0][act], row[1][act] = value[:, 0], value[:, 1]
        if len(frozen):
            cols = frozen if act is None else act[frozen]
            row[:, cols] = 0.0 if name == "update" or i == 0 else arr[i - 1][:, cols]


# ---- the scalar engine ----------------------------------------------------------------------------------

def _run_scalar(c: _Setup) -> Trajectory:
    """One run after the other, each coordinate's rule on Python floats (see the module docstring)."""
    k, steps, rule, surface = c.k, c.steps, c.optimizer.rule, c.surface
    f_s, g_s, fg_s = surface.scalar_kernels
    static = not surface.time_varying
    update, init, rec = rule.update, rule.init, c.internals
    factors = c.factors
    cx, cy = c.center.tolist()
    limit = c.limit
    (x_lo, x_hi), (y_lo, y_hi) = c.bounds.tolist() if c.bounds is not None else ((None, None), (None, None))
    sigma = np.broadcast_to(c.sigma, (k, 1))[:, 0].tolist()
    scale = np.broadcast_to(c.scale, (k, 1))[:, 0].tolist()
    noisy, scaled = any(sigma), any(s != 1.0 for s in scale)
    # The same draws as the array engine's, one (K, 2) draw per step, noise before the mask.
    rng = np.random.default_rng(c.seed)
    noise = mask = None
    if noisy and c.sparse:
        pairs = [(rng.standard_normal((k, 2)), rng.random((k, 2)) < c.keep) for _ in range(steps)]
        noise = np.array([p[0] for p in pairs]).tolist()
        mask = np.array([p[1] for p in pairs], dtype=float).tolist()
    elif noisy:
        noise = rng.standard_normal((steps, k, 2)).tolist()
    elif c.sparse:
        mask = (rng.random((steps, k, 2)) < c.keep).astype(float).tolist()

    path = np.zeros((k, steps + 1, 2))
    losses = np.zeros((k, steps + 1))
    internals: dict[str, np.ndarray] = {}
    diverged_at = np.full(k, -1)
    new_step = tuple.__new__
    isfinite = math.isfinite
    aux_keys, runs_recorded = None, []

    for j in range(k):
        h = SimpleNamespace(**{key: (float(v[j, 0]) if isinstance(v, np.ndarray) else v)
                               for key, v in vars(c.h).items()})
        lr, sig, sca = h.lr, sigma[j], scale[j]
        x, y = c.xy[j].tolist()
        if isfinite(x) and isfinite(y):
            if static:
                loss, gx, gy = fg_s(x, y, 1)
            else:
                loss, (gx, gy) = f_s(x, y, 0), g_s(x, y, 1)
        else:
            loss = math.nan
        if not isfinite(loss):                        # an invalid start: frozen at (0, 0) from step 0
            diverged_at[j] = 0
            continue
        xs, ls = [x, y], [loss]
        rec_g, rec_x, rec_y = [], [], []              # internals: g and Δθ, the rule's x and y values
        sx, sy = init(x, h), init(y, h)
        t = 0
        for t in range(1, steps + 1):
            if scaled:
                gx, gy = sca * gx, sca * gy
            if noisy:
                z = noise[t - 1][j]
                gx, gy = gx + sig * z[0], gy + sig * z[1]
            if mask is not None:
                u = mask[t - 1][j]
                gx, gy = gx * u[0], gy * u[1]
            if not (isfinite(gx) and isfinite(gy)):
                break
            lr_t = lr * factors[t - 1]
            dx, sx, ax = update(gx, sx, new_step(Step, (t, lr_t, x, None, rec)), h)
            dy, sy, ay = update(gy, sy, new_step(Step, (t, lr_t, y, None, rec)), h)
            if rec and aux_keys is None:
                aux_keys = list(ax)
            nx, ny = x + dx, y + dy
            if x_lo is not None:                      # projection (NaN stays NaN, as np.clip)
                nx = x_lo if nx < x_lo else x_hi if nx > x_hi else nx
                ny = y_lo if ny < y_lo else y_hi if ny > y_hi else ny
            if not (abs(nx - cx) <= limit and abs(ny - cy) <= limit):
                break
            used_gx, used_gy = gx, gy
            if static and t < steps:
                new_loss, gx, gy = fg_s(nx, ny, t + 1)
            else:
                new_loss = f_s(nx, ny, t)
                if t < steps:
                    gx, gy = g_s(nx, ny, t + 1)
            if not isfinite(new_loss):
                break
            if rec:
                if len(ax) != len(aux_keys):
                    raise TypeError("the rule's internals changed between steps")   # the array engine copes
                rec_g += (used_gx, used_gy, nx - x, ny - y)
                rec_x.extend(ax.values())
                rec_y.extend(ay.values())
            xs += (nx, ny)
            ls.append(new_loss)
            x, y, loss = nx, ny, new_loss
        else:
            t = steps + 1
        n = len(ls)
        if t <= steps:                                # diverged at step t: frozen at its last finite point
            diverged_at[j] = t
        path[j, :n] = np.array(xs).reshape(n, 2)
        path[j, n:] = (x, y)
        losses[j, :n] = ls
        losses[j, n:] = loss
        if rec:
            runs_recorded.append((j, n - 1, rec_g, rec_x, rec_y))
    if rec and steps:
        if aux_keys is None:                          # the rule never ran: only the array engine knows
            raise TypeError("no internals were recorded")   # the names of its internals
        names = ["grad", "update", *aux_keys]
        internals = {name: np.zeros((k, steps, 2)) for name in names}
        for j, n, rec_g, rec_x, rec_y in runs_recorded:
            if n == 0:
                continue                              # diverged at step 1: zeros throughout
            values = np.reshape(rec_g, (n, 2, 2))     # (steps, name, coordinate)
            if aux_keys:
                rule_values = np.stack([np.reshape(rec_x, (n, -1)), np.reshape(rec_y, (n, -1))], -1)
                values = np.concatenate([values, rule_values], 1)
            np.nan_to_num(values, copy=False, nan=0.0, posinf=_BIG, neginf=-_BIG)
            for i, name in enumerate(names):
                internals[name][j, :n] = values[:, i]
                if name != "update" and 0 < n < steps:
                    internals[name][j, n:] = values[-1, i]
    return _scalar_result(c, path, losses, internals, diverged_at)


def _scalar_result(c, path, losses, internals, diverged_at):
    k, steps = c.k, c.steps
    xy_rows, loss_rows = path.transpose(1, 2, 0), losses.T
    summary = None
    if c.record == "summary":
        summary = _summaries_of_path(c.surface, c.tol, diverged_at, xy_rows, loss_rows, _block(k, steps))
    return _finish(c, "scalar", path[:, -1].copy(), losses[:, -1].copy(), diverged_at, xy_rows, loss_rows,
                   internals, summary)
