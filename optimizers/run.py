"""The one loop that steps an optimizer over a batch of K runs on a surface.

It owns what no single rule should: gradient noise, learning-rate schedules, projection onto a
constrained box, divergence detection and what is recorded. Step t uses the gradient of f_t at θ_{t-1}
(f_t = f for static surfaces); ``loss[:, k]`` is f_k(θ_k).

Divergence never raises and never leaks NaN or inf: a run whose gradient, point or loss becomes
non-finite, or whose point leaves a box ``LIMIT_SPANS`` domain-widths around the domain, is frozen at its
last finite point and ``diverged_at`` records the step (−1 if never; 0 if the start itself is invalid).
"""
from __future__ import annotations

from dataclasses import dataclass, field

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


@dataclass(frozen=True, eq=False)
class Trajectory:
    """What a run produced. ``path``/``loss``/``internals`` are None/empty with ``record="summary"``."""

    optimizer: Optimizer
    surface: object
    steps: int
    final: np.ndarray            # (K, 2) last point (the last finite one for diverged runs)
    final_loss: np.ndarray       # (K,)
    best_loss: np.ndarray        # (K,)
    diverged_at: np.ndarray      # (K,) int, −1 if never
    converged_at: np.ndarray     # (K,) int, −1 if never
    path_length: np.ndarray      # (K,) sum of |Δθ|
    minimum: np.ndarray          # (K,) index into surface.minima of the minimum reached, −1 if none
    path: np.ndarray | None = None          # (K, steps+1, 2)
    loss: np.ndarray | None = None          # (K, steps+1)
    internals: dict = field(default_factory=dict)   # name → (K, steps, 2)

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


def run(optimizer: Optimizer, surface, start, steps: int, *, noise=0.0, seed: int = 0,
        record_internals: bool = False, schedule: Schedule | None = None, record: str = "path",
        tol: float = CONVERGE_LOSS, loss_scale=1.0, grad_keep=(1.0, 1.0)) -> Trajectory:
    """Run ``optimizer`` from ``start`` ((2,) or (K, 2)) for ``steps`` steps on ``surface``.

    ``noise`` is σ (scalar or per run) of Gaussian noise added to every gradient, drawn from
    ``numpy.random.default_rng(seed)``. ``loss_scale`` k (scalar or per run) minimises k·f instead of f
    (losses are recorded as f). ``grad_keep`` gives, per coordinate, the probability that its gradient is
    observed at a step (a seeded mask; 1 = always): sparse gradients. ``record`` is "path" (keep every point) or "summary" (keep only
    per-run summaries: memory O(K)). ``record_internals`` fills ``internals`` with ``grad``, ``update``
    and the rule's own quantities (``m``, ``v``, ``m_hat``, ``v_hat``, ``v_max``, ``lr_eff`` …).
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 0 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be a whole number from 0 to {MAX_STEPS:,}, got {steps!r}")
    if record not in ("path", "summary"):
        raise ValueError(f"record must be 'path' or 'summary', got {record!r}")
    steps = int(steps)
    xy = _as_starts(start)
    k = len(xy)
    if record == "path" and k * (steps + 1) > MAX_PATH_VALUES:
        raise ValueError(f"{k:,} runs × {steps:,} steps is too many points to keep; use record='summary'")
    if record_internals and record != "path":
        raise ValueError("record_internals needs record='path'")
    h = optimizer.bind(k)
    sigma = _per_run("noise", noise, k)
    scale = _per_run("loss_scale", loss_scale, k)
    keep = np.asarray(grad_keep, dtype=float)
    if keep.shape != (2,) or not np.all((keep >= 0) & (keep <= 1)):
        raise ValueError(f"grad_keep must be two probabilities in [0, 1], got {grad_keep!r}")
    sparse = bool(np.any(keep < 1))
    factors = (schedule or Schedule()).factors(steps)
    rng = np.random.default_rng(seed)
    center = np.array([np.mean(surface.domain[0]), np.mean(surface.domain[1])])
    limit = LIMIT_SPANS * surface.span
    bounds = np.array(surface.bounds, dtype=float) if surface.bounds is not None else None
    rule = optimizer.rule

    with np.errstate(all="ignore"):
        loss = surface.f(xy, 0)
        active = np.isfinite(xy).all(-1) & np.isfinite(loss)
        xy = np.where(active[:, None], xy, 0.0)
        loss = np.where(active, loss, 0.0)
        diverged_at = np.where(active, -1, 0)
        best = loss.copy()
        length = np.zeros(k)
        conv = np.full(k, -1)
        _mark_converged(surface, xy, loss, active, conv, 0, tol)
        if record == "path":
            path = np.empty((k, steps + 1, 2))
            losses = np.empty((k, steps + 1))
            path[:, 0], losses[:, 0] = xy, loss
        internals: dict[str, np.ndarray] = {}
        state = rule.init(xy, h)

        for t in range(1, steps + 1):
            g = surface.grad(xy, t)
            if np.any(scale != 1.0):
                g = scale * g
            if np.any(sigma):
                g = g + sigma * rng.standard_normal((k, 2))
            if sparse:
                g = g * (rng.random((k, 2)) < keep)
            lr_t = h.lr * factors[t - 1]
            delta, state, aux = rule.update(g, state, Step(t, lr_t, xy, _hess(surface, t)), h)
            new = xy + delta
            if bounds is not None:
                new = np.clip(new, bounds[:, 0], bounds[:, 1])
            new_loss = surface.f(new, t)
            ok = (np.isfinite(g).all(-1) & np.isfinite(new).all(-1) & np.isfinite(new_loss)
                  & (np.abs(new - center) <= limit).all(-1))
            diverged_at[active & ~ok] = t
            active &= ok
            moved = np.where(active[:, None], new - xy, 0.0)
            length += np.sqrt((moved ** 2).sum(-1))
            xy = xy + moved if bounds is None else np.where(active[:, None], new, xy)
            loss = np.where(active, new_loss, loss)
            np.minimum(best, loss, out=best)
            _mark_converged(surface, xy, loss, active, conv, t, tol)
            if record == "path":
                path[:, t], losses[:, t] = xy, loss
            if record_internals:
                _record(internals, dict(grad=g, update=moved, **aux), active, t - 1, k, steps)

    minimum, dist = surface.nearest_minimum(xy)
    minimum = np.where(dist <= REACH_SPANS * surface.span, minimum, -1)
    return Trajectory(optimizer, surface, steps, xy, loss, best, diverged_at, conv, length, minimum,
                      path if record == "path" else None, losses if record == "path" else None, internals)


def _hess(surface, t):
    return lambda p: surface.hessian(p, t)


def _mark_converged(surface, xy, loss, active, conv, t, tol):
    near = loss - surface.f_min <= tol * max(1.0, abs(surface.f_min)) if np.isfinite(surface.f_min) \
        else np.zeros(len(xy), bool)
    if len(surface.minima):
        near = near | (surface.nearest_minimum(xy)[1] <= CONVERGE_SPANS * surface.span)
    conv[(conv < 0) & active & near] = t


def _record(internals, values, active, i, k, steps):
    big = np.finfo(float).max
    for name, value in values.items():
        if name not in internals:
            internals[name] = np.zeros((k, steps, 2))
        arr = np.nan_to_num(np.broadcast_to(value, (k, 2)), nan=0.0, posinf=big, neginf=-big)
        prev = internals[name][:, i - 1] if i else 0.0
        internals[name][:, i] = np.where(active[:, None], arr, prev if name != "update" else 0.0)
