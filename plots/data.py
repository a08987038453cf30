"""What a chart needs to know about one run: :class:`RunView`, plus shared input checks.

A RunView is one optimizer instance as the page shows it (key "adam-2", label "Adam #2", a colour) with
its recorded arrays. It may hold K > 1 starts of the same optimizer (``path`` is (K, S+1, 2)).
Internals index ``i`` belongs to step ``i + 1`` (``internals["grad"][:, 0]`` is g₁).

From a notebook::

    import optimizers, surfaces, plots
    s = surfaces.get("rosenbrock")
    traj = optimizers.run(optimizers.get("adam", lr=0.05), s, (-1.5, 2.5), 300, record_internals=True)
    plots.contour_figure(s, s.grid(150), [plots.RunView.from_trajectory("adam-1", "Adam #1", "#0072B2", traj)])
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .style import PALETTE, hex_rgb

Grid = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True, eq=False)
class RunView:
    """One run (one optimizer instance, K ≥ 1 starts) as every chart sees it.

    ``path`` (K, S+1, 2), ``loss`` (K, S+1), ``diverged_at`` (K,) (−1 never), ``internals`` name →
    (K, S, 2), where index i is step i+1 — or (1, S, 2) when only the first start's internals were
    kept (``internals_k``); charts of internals then show that start. ``hyper`` values are numbers or
    arrays of shape (K,)."""

    key: str
    label: str
    color: str
    name: str
    hyper: Mapping[str, Any]
    path: np.ndarray
    loss: np.ndarray
    diverged_at: np.ndarray
    internals: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self):
        for attr in ("key", "label", "name"):
            if not isinstance(getattr(self, attr), str) or not getattr(self, attr):
                raise ValueError(f"RunView.{attr} must be a non-empty string, got {getattr(self, attr)!r}")
        hex_rgb(self.color)
        path = np.asarray(self.path, dtype=float)
        if path.ndim == 2:
            path = path[None]
        if path.ndim != 3 or path.shape[-1] != 2 or path.shape[0] == 0 or path.shape[1] == 0:
            raise ValueError(f"{self.label}: path must have shape (K, S+1, 2), got {np.shape(self.path)}")
        k, n = path.shape[:2]
        loss = np.asarray(self.loss, dtype=float).reshape(-1, n) if np.size(self.loss) == k * n else None
        if loss is None:
            raise ValueError(f"{self.label}: loss must have shape ({k}, {n}), got {np.shape(self.loss)}")
        div = np.asarray(self.diverged_at).astype(int).reshape(-1)
        if div.shape != (k,):
            raise ValueError(f"{self.label}: diverged_at must have shape ({k},), got {np.shape(self.diverged_at)}")
        internals = {}
        for name, arr in dict(self.internals or {}).items():
            arr = np.asarray(arr, dtype=float)
            if arr.ndim != 3 or arr.shape[1:] != (n - 1, 2) or arr.shape[0] not in (k, 1):
                raise ValueError(f"{self.label}: internals[{name!r}] must have shape ({k}, {n - 1}, 2) "
                                 f"(or (1, {n - 1}, 2): the first start only), got {arr.shape}")
            internals[name] = arr
        if len({a.shape[0] for a in internals.values()}) > 1:
            raise ValueError(f"{self.label}: internals must all cover the same starts")
        set_ = object.__setattr__
        set_(self, "path", path)
        set_(self, "loss", loss)
        set_(self, "diverged_at", div)
        set_(self, "internals", MappingProxyType(internals))
        set_(self, "hyper", MappingProxyType(dict(self.hyper or {})))

    @classmethod
    def from_trajectory(cls, key: str, label: str, color: str, traj) -> "RunView":
        """A RunView of an ``optimizers.Trajectory`` (run with ``record="path"``)."""
        if getattr(traj, "path", None) is None:
            raise ValueError(f"{label}: the trajectory kept no path; run it with record='path'")
        opt = traj.optimizer
        return cls(key=key, label=label, color=color, name=opt.name, hyper=dict(opt.hyper),
                   path=traj.path, loss=traj.loss, diverged_at=traj.diverged_at,
                   internals=dict(traj.internals or {}))

    @property
    def k(self) -> int:
        """Number of starts."""
        return self.path.shape[0]

    @property
    def steps(self) -> int:
        return self.path.shape[1] - 1

    @property
    def internals_k(self) -> int:
        """Number of starts whose internals are kept (K, 1, or 0 when none were recorded)."""
        return next(iter(self.internals.values())).shape[0] if self.internals else 0

    def hyper_value(self, key: str, start: int = 0, default: Any = None) -> Any:
        """A hyperparameter's value for one start (per-run arrays are indexed)."""
        v = self.hyper.get(key, default)
        if isinstance(v, np.ndarray):
            return float(v.reshape(-1)[start if v.size > 1 else 0])
        return v

    def alive(self, start: int) -> np.ndarray:
        """(S+1,) bool: step s happened before divergence (all True if it never diverged)."""
        d = int(self.diverged_at[start])
        idx = np.arange(self.steps + 1)
        return idx < d if d >= 0 else np.ones(self.steps + 1, bool)

    def only(self, start: int) -> "RunView":
        """The same run restricted to one start (K = 1)."""
        sl = slice(start, start + 1)
        hyper = {k: (v[sl] if isinstance(v, np.ndarray) and v.size == self.k else v) for k, v in self.hyper.items()}
        return replace(self, hyper=hyper, path=self.path[sl], loss=self.loss[sl],
                       diverged_at=self.diverged_at[sl],
                       internals={k: v[sl] for k, v in self.internals.items()} if start < self.internals_k else {})

    def diverged_note(self) -> str:
        """"diverged at step k" (one start) or "n of K starts diverged"; "" if none did."""
        d = self.diverged_at[self.diverged_at >= 0]
        if len(d) == 0:
            return ""
        if self.k == 1:
            return f"diverged at step {int(d[0])}"
        return f"{len(d)} of {self.k} starts diverged (first at step {int(d.min())})"


def from_trajectories(trajectories: Iterable, colors: Sequence[str] = PALETTE) -> list[RunView]:
    """RunViews for several trajectories: keys "adam-1", labels "Adam #1", colours from the palette."""
    views, seen = [], {}
    for i, traj in enumerate(trajectories):
        opt = traj.optimizer
        n = seen[opt.name] = seen.get(opt.name, 0) + 1
        views.append(RunView.from_trajectory(f"{opt.name}-{n}", f"{opt.label} #{n}",
                                             colors[i % len(colors)], traj))
    return views


# Plotly validates every property of every trace it builds: ~5 ms per path trace here, most of a
# slider move's server time on the contour view (measured). The figures on the interactive path are
# built from inputs already checked by the check_* functions below, so they skip that validation;
# the JSON Plotly writes is byte-for-byte the same.
TRUSTED = {"_validate": False}


def check_runs(runs) -> list[RunView]:
    """A list of RunViews with unique keys (a single RunView is accepted too)."""
    if isinstance(runs, RunView):
        runs = [runs]
    runs = list(runs or [])
    for r in runs:
        if not isinstance(r, RunView):
            raise TypeError(f"runs must be RunView objects, got {type(r).__name__}")
    keys = [r.key for r in runs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"run keys must be unique, got {keys}")
    return runs


def check_run(run) -> RunView:
    if not isinstance(run, RunView):
        raise TypeError(f"run must be a RunView, got {type(run).__name__}")
    return run


def check_grid(grid) -> Grid:
    """(xs (nx,), ys (ny,), Z (ny, nx)) as returned by ``Surface.grid``."""
    try:
        xs, ys, z = grid
    except (TypeError, ValueError):
        raise ValueError("grid must be (xs, ys, Z) as returned by surface.grid(n)") from None
    xs, ys, z = (np.asarray(a, dtype=float) for a in (xs, ys, z))
    if xs.ndim != 1 or ys.ndim != 1 or len(xs) < 2 or len(ys) < 2 or z.shape != (len(ys), len(xs)):
        raise ValueError(f"grid must be xs (nx,), ys (ny,), Z (ny, nx); got {xs.shape}, {ys.shape}, {z.shape}")
    if not np.isfinite(z).any():
        raise ValueError("grid Z has no finite value")
    return xs, ys, z


def check_surface(surface):
    for attr in ("domain", "minima", "f", "f_min"):
        if not hasattr(surface, attr):
            raise TypeError(f"surface must be a surfaces.Surface, got {type(surface).__name__}")
    return surface


def check_style(style):
    from .style import Style
    if style is None:
        return Style()
    if not isinstance(style, Style):
        raise TypeError(f"style must be a plots.Style, got {type(style).__name__}")
    return style


def check_positive_int(name: str, value, lo: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
        raise ValueError(f"{name} must be a whole number >= {lo}, got {value!r}")
    return int(value)


def check_step(run: RunView, t, start_index, *, internals: bool = True) -> tuple[int, int]:
    """Validate a step t in 1..S and a start index in 0..K-1 (one with internals, if ``internals``)."""
    check_positive_int("start_index", start_index, lo=0)
    if start_index >= run.k:
        raise ValueError(f"start_index must be < {run.k} for {run.label}, got {start_index}")
    if internals and start_index >= run.internals_k:
        raise ValueError(f"{run.label}: no internals recorded for start {start_index} "
                         f"(kept for {run.internals_k} start(s); run with record_internals=True)")
    if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or not 1 <= t <= run.steps:
        raise ValueError(f"t must be a step from 1 to {run.steps} for {run.label}, got {t!r}")
    return int(t), int(start_index)


MAX_RUN_POINTS = 16_000   # points of one run (all its starts together) in one trace; more are thinned


def even_index(n: int, max_points: int) -> np.ndarray:
    """Indices 0..n-1, evenly thinned to at most ``max_points`` (always with the first and last)."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, max(2, max_points))).astype(int))


def stacked(values: np.ndarray, x: np.ndarray | None = None,
            max_points: int = MAX_RUN_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Rows of a (K, N) array as one polyline with NaN separators (Plotly draws NaN as a gap):
    returns float32 (x, y), x being ``x`` (default 0..N−1) repeated; when K·N > ``max_points`` the
    columns are thinned evenly (first and last kept), so a chart stays small however many starts."""
    values = np.asarray(values, dtype=float)
    k, n = values.shape
    x = np.arange(n, dtype=float) if x is None else np.asarray(x, dtype=float)
    cols = even_index(n, max_points // max(k, 1))
    x, values, n = x[cols], values[:, cols], len(cols)
    xs = np.full((k, n + 1), np.nan)
    ys = np.full((k, n + 1), np.nan)
    xs[:, :n], ys[:, :n] = x, values
    return f32(xs.reshape(-1)[:-1]), f32(ys.reshape(-1)[:-1])


F32_MAX = float(np.finfo(np.float32).max)


def f32(values) -> np.ndarray:
    """float32 copy for the figure (Plotly sends it as a compact base64 typed array); values beyond
    float32's range are clipped to it (they are far outside any view), NaN stays NaN (a gap)."""
    return np.clip(np.asarray(values, dtype=float), -F32_MAX, F32_MAX).astype(np.float32)
