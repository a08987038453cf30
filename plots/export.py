"""Exports: trajectories as CSV, figures as standalone HTML or PNG, the animation as a GIF.

PNG export uses kaleido with the system Chromium (``BROWSER_PATH`` or ``chromium`` on PATH); it never
downloads a browser. Without one it raises :class:`ExportUnavailable` at once.
"""
from __future__ import annotations

import csv
import io
import os
import shutil

import numpy as np
import plotly.graph_objects as go

from .data import check_positive_int, check_runs
from .gif import animation_gif

__all__ = ["ExportUnavailable", "trajectories_csv", "figure_html", "figure_png", "animation_gif",
           "png_available", "PNG_UNAVAILABLE", "INTERNALS_ORDER"]

INTERNALS_ORDER = ("grad", "update", "m", "m_hat", "v", "v_hat", "v_max", "u", "c", "lr_eff")
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
NO_BROWSER = ("PNG export needs Chromium, and none was found (BROWSER_PATH unset and no chromium on "
              "PATH): apt-get install chromium")
PNG_UNAVAILABLE = NO_BROWSER


class ExportUnavailable(RuntimeError):
    """An export that needs something this machine lacks (a browser for PNG)."""


def trajectories_csv(runs) -> str:
    """One row per run × start × step: run, optimizer, start, step, x, y, loss, then every internal
    per coordinate (grad_x, grad_y, update_x, …; blank where a run lacks it, and at step 0, since
    internal i belongs to step i + 1). Floats are written exactly (shortest round-trip repr)."""
    runs = check_runs(runs)
    present = {k for r in runs for k in r.internals}
    names = [k for k in INTERNALS_ORDER if k in present] + sorted(present - set(INTERNALS_ORDER))
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["run", "optimizer", "start", "step", "x", "y", "loss"]
               + [f"{k}_{c}" for k in names for c in ("x", "y")])
    for run in runs:
        n = run.steps + 1
        for i in range(run.k):
            cols = np.full((n, 3 + 2 * len(names)), np.nan)
            cols[:, 0:2] = run.path[i]
            cols[:, 2] = run.loss[i]
            for j, k in enumerate(names):
                if k in run.internals and i < run.internals_k:
                    cols[1:, 3 + 2 * j: 5 + 2 * j] = run.internals[k][i]
            for s, row in enumerate(cols.tolist()):
                w.writerow([run.label, run.name, i, s] + ["" if v != v else repr(v) for v in row])
    return out.getvalue()


def figure_html(fig: go.Figure) -> str:
    """A standalone HTML page with plotly.js inlined (works offline, no CDN); animations do not
    start by themselves."""
    if not isinstance(fig, go.Figure):
        raise TypeError(f"fig must be a plotly Figure, got {type(fig).__name__}")
    return fig.to_html(include_plotlyjs=True, full_html=True, auto_play=False)


def png_available() -> bool:
    """True when a browser for PNG export is installed (checked on every call: cheap, no state)."""
    return find_browser() is not None


def find_browser() -> str | None:
    """The Chrome/Chromium kaleido would use: BROWSER_PATH if it is an executable, else one on PATH."""
    env = os.environ.get("BROWSER_PATH")
    if env and os.path.isfile(env) and os.access(env, os.X_OK):
        return env
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def figure_png(fig: go.Figure, *, width: int = 1200, height: int = 800, scale: float = 1) -> bytes:
    """PNG bytes of ``fig`` rendered by kaleido in the system Chromium (a cold start takes a few
    seconds). Raises ExportUnavailable if no browser is installed."""
    if not isinstance(fig, go.Figure):
        raise TypeError(f"fig must be a plotly Figure, got {type(fig).__name__}")
    width, height = check_positive_int("width", width), check_positive_int("height", height)
    if not (isinstance(scale, (int, float)) and 0 < scale <= 10):
        raise ValueError(f"scale must be a number in (0, 10], got {scale!r}")
    browser = find_browser()
    if browser is None:
        raise ExportUnavailable(NO_BROWSER)
    if not os.environ.get("BROWSER_PATH"):
        os.environ["BROWSER_PATH"] = browser          # where kaleido (choreographer) looks first
    import kaleido                                   # imported late: only PNG export needs it
    from kaleido.errors import ChromeNotFoundError
    try:
        return kaleido.calc_fig_sync(fig, opts=dict(format="png", width=width, height=height, scale=scale),
                                     kopts=dict(mathjax=False))
    except ChromeNotFoundError as e:
        raise ExportUnavailable(f"{NO_BROWSER} ({e})") from e
