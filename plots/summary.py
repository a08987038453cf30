"""A table of how each run did: ``summary_rows`` (plain dicts; the app may wrap them in a DataFrame)."""
from __future__ import annotations

import math

import numpy as np

from .data import check_runs, check_surface

DASH = "—"
NEAR_SPANS = 1e-3      # "reached a minimum": within this fraction of the domain's span of a known one


def _fmt_point(p) -> str:
    return f"({p[0]:.4g}, {p[1]:.4g})"


def steps_to_tol(run, i: int, surface, tol: float = 1e-6) -> int | None:
    """First step where f − f_min ≤ tol·max(1, |f_min|) (f_min finite) or the iterate is within
    1e-3·span of a known minimum; None if never (or only after the start diverged)."""
    n = run.steps + 1
    hit = np.zeros(n, bool)
    f_min = float(surface.f_min)
    if math.isfinite(f_min):
        with np.errstate(invalid="ignore"):
            hit |= run.loss[i] - f_min <= tol * max(1.0, abs(f_min))
    if len(surface.minima):
        hit |= surface.nearest_minimum(run.path[i])[1] <= NEAR_SPANS * surface.span
    hit &= run.alive(i)
    idx = np.flatnonzero(hit)
    return int(idx[0]) if idx.size else None


def summary_rows(runs, surface, *, tol: float = 1e-6) -> list[dict]:
    """One row per run and start (K > 1 starts give K rows, "start" 0..K−1; nothing is aggregated).

    Keys: "run" (label), "optimizer" (key), "start", "final loss", "steps to tol" (int or "—"),
    "diverged at" (step or "—"), "path length" (Σ|Δθ| up to divergence), "final point" "(x, y)" (the
    last finite one)."""
    runs = check_runs(runs)
    check_surface(surface)
    if not (isinstance(tol, (int, float)) and tol > 0 and math.isfinite(tol)):
        raise ValueError(f"tol must be a positive number, got {tol!r}")
    rows = []
    for run in runs:
        for i in range(run.k):
            d = int(run.diverged_at[i])
            last = run.steps if d < 0 else max(d - 1, 0)
            p = run.path[i, :last + 1]
            with np.errstate(over="ignore", invalid="ignore"):
                length = float(np.sqrt((np.diff(p, axis=0) ** 2).sum(-1)).sum())
            hit = steps_to_tol(run, i, surface, tol)
            rows.append({
                "run": run.label if run.k == 1 else f"{run.label} · start {i}",
                "optimizer": run.name,
                "start": i,
                "final loss": float(run.loss[i, last]),
                "steps to tol": DASH if hit is None else hit,
                "diverged at": DASH if d < 0 else d,
                "path length": length,
                "final point": _fmt_point(run.path[i, last]),
            })
    return rows
