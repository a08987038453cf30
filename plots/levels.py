"""How surface values become colours: linear, or log10 of the height above the grid's minimum.

Rosenbrock's valley is invisible on a linear scale (the walls reach thousands, the floor is below
one). When f − min(Z) spans more than ``LOG_RATIO`` (≈ 2.4 decades) between its 5th percentile and its
maximum over the grid, colours follow ``log10(f − min(Z) + ε)``; the colour bar is still labelled with
real f values (tickvals in the transformed space, ticktext in f).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LOG_RATIO = 250.0      # max / 5th percentile of f − min(Z) beyond which the log scale is used


@dataclass(frozen=True)
class Levels:
    """The value transform shared by contour, 3-D surface, small multiples and the GIF background."""

    log: bool
    offset: float      # min(Z): the log scale measures height above it
    eps: float         # added before the log so the minimum itself maps to a finite value
    lo: float          # transformed range over the grid
    hi: float

    def transform(self, f) -> np.ndarray:
        """Surface values (any shape) to the colour coordinate; non-finite values become NaN."""
        f = np.asarray(f, dtype=float)
        with np.errstate(all="ignore"):
            out = np.log10(np.maximum(f - self.offset, 0.0) + self.eps) if self.log else f.copy()
        out[~np.isfinite(out)] = np.nan
        return out

    def unit(self, f) -> np.ndarray:
        """Transformed values scaled to [0, 1] over [lo, hi] (clipped; NaN stays NaN)."""
        with np.errstate(all="ignore"):
            return np.clip((self.transform(f) - self.lo) / (self.hi - self.lo), 0.0, 1.0)

    @property
    def title(self) -> str:
        return "f (log scale)" if self.log else "f"

    def ticks(self) -> tuple[list[float], list[str]] | None:
        """(tickvals, ticktext) labelling the log scale in real f values; None for the linear scale."""
        if not self.log:
            return None
        top = self.hi
        vals, text = [], []
        d_lo = math.floor(math.log10(self.eps)) + 1
        d_hi = math.floor(top)
        for e in range(d_lo, d_hi + 1):
            d = 10.0 ** e
            vals.append(math.log10(d + self.eps))
            text.append(fmt(self.offset + d))
        if len(vals) > 8:                         # keep at most ~8 labels: every 2nd/3rd decade
            stride = math.ceil(len(vals) / 8)
            vals, text = vals[::-stride][::-1], text[::-stride][::-1]
        vals.insert(0, self.lo)
        text.insert(0, fmt(self.offset))
        return vals, text

    def colorbar(self, style, **extra) -> dict:
        """Plotly colour-bar settings (title, real-f tick labels on the log scale)."""
        bar = dict(title=dict(text=self.title, side="right", font=dict(size=style.small_font_size)),
                   thickness=round(12 * style.zoom), len=0.9, outlinewidth=0,
                   tickfont=dict(size=style.small_font_size), **extra)
        ticks = self.ticks()
        if ticks:
            bar.update(tickmode="array", tickvals=ticks[0], ticktext=ticks[1])
        return bar


def levels_for(z, *, ratio: float = LOG_RATIO) -> Levels:
    """Choose linear or log levels for grid values ``z`` (any shape, non-finite values ignored)."""
    z = np.asarray(z, dtype=float)
    good = z[np.isfinite(z)]
    if good.size == 0:
        raise ValueError("the grid has no finite value")
    zmin, zmax = float(good.min()), float(good.max())
    d = good - zmin
    p5 = float(np.percentile(d, 5))
    top = zmax - zmin
    use_log = top > 0 and (p5 <= 0 or top / p5 > ratio)
    if not use_log:
        hi = zmax if zmax > zmin else zmin + 1.0
        return Levels(False, zmin, 0.0, zmin, hi)
    positive = d[d > 0]
    p1 = float(np.percentile(positive, 1)) if positive.size else top
    eps = max(0.1 * p1, top * 1e-9, 1e-300)
    return Levels(True, zmin, eps, math.log10(eps), math.log10(top + eps))


def fmt(v: float, digits: int = 3) -> str:
    """A short number for labels: 3 significant digits, '1e+06' written as '1e6'."""
    if not math.isfinite(v):
        return str(v)
    s = f"{v:.{digits}g}"
    if "e" in s:
        mant, exp = s.split("e")
        s = f"{mant}e{int(exp)}"
    return "0" if s in ("-0", "0") else s
