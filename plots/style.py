"""Colours, fonts and the shared layout of every figure.

``PALETTE`` holds eight colour-blind-safe colours (Okabe & Ito 2008 without black and the pale yellow,
plus two of Paul Tol's) that stay readable on a white page and on a near-black one; every chart gives a
run the same colour (``RunView.color``). ``CONTOUR_SCALE`` is a low-chroma sequential scale (dark slate
valleys to pale sand peaks, lightness rising monotonically) so the saturated run colours stand out on
any part of it. The same scale is used in light and dark themes. Paths are cased like roads on a map: a dark halo,
a thin light casing, then the run's colour, so they read on every part of the scale.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

PALETTE: tuple[str, ...] = (
    "#0072B2",  # Okabe–Ito blue
    "#E69F00",  # Okabe–Ito orange
    "#009E73",  # Okabe–Ito bluish green
    "#CC79A7",  # Okabe–Ito reddish purple
    "#D55E00",  # Okabe–Ito vermillion
    "#56B4E9",  # Okabe–Ito sky blue
    "#AA3377",  # Tol bright purple
    "#CCBB44",  # Tol bright yellow (olive, readable on white unlike Okabe–Ito's pale yellow)
)

# Sequential, monotone in lightness, low chroma: runs (saturated) read well on every part of it.
CONTOUR_SCALE: tuple[tuple[float, str], ...] = (
    (0.00, "#1b2a3b"),
    (0.15, "#2a3f56"),
    (0.30, "#3d5670"),
    (0.45, "#566f87"),
    (0.60, "#778c9c"),
    (0.75, "#9eabb0"),
    (0.88, "#c7c9bd"),
    (1.00, "#ece6d3"),
)


def hex_rgb(color: str) -> tuple[int, int, int]:
    """(r, g, b) of a "#rrggbb" colour."""
    if not (isinstance(color, str) and len(color) == 7 and color[0] == "#"):
        raise ValueError(f"colour must be '#rrggbb', got {color!r}")
    try:
        return tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]
    except ValueError:
        raise ValueError(f"colour must be '#rrggbb', got {color!r}") from None


def rgba(color: str, alpha: float) -> str:
    """A "#rrggbb" colour as a CSS rgba() string with opacity ``alpha``."""
    r, g, b = hex_rgb(color)
    return f"rgba({r},{g},{b},{alpha:g})"


def colormap(values: np.ndarray, scale=CONTOUR_SCALE) -> np.ndarray:
    """Map values in [0, 1] (NaN allowed) through a Plotly-style colourscale: uint8 RGB, shape (..., 3).

    Linear interpolation between the stops in RGB, as plotly.js does; NaN maps to the lowest colour."""
    stops = np.array([s for s, _ in scale])
    rgb = np.array([hex_rgb(c) for _, c in scale], dtype=float)
    v = np.clip(np.nan_to_num(np.asarray(values, dtype=float), nan=0.0), 0.0, 1.0)
    out = np.stack([np.interp(v, stops, rgb[:, i]) for i in range(3)], axis=-1)
    return np.round(out).astype(np.uint8)


@dataclass(frozen=True)
class Style:
    """Theme (light or dark) and size (screen or projector) of every figure.

    The projector style multiplies fonts by 1.6 and thickens lines and markers, for a room's back row."""

    dark: bool = False
    projector: bool = False

    @property
    def zoom(self) -> float:
        return 1.6 if self.projector else 1.0

    @property
    def font_size(self) -> int:
        return round(13 * self.zoom)

    @property
    def small_font_size(self) -> int:
        return round(11 * self.zoom)

    @property
    def line_width(self) -> float:
        return 3.5 if self.projector else 2.0

    @property
    def halo_width(self) -> float:
        """Extra width of the dark halo drawn under a path, on both sides together."""
        return 4.0 if self.projector else 3.0

    @property
    def casing_width(self) -> float:
        """Extra width of the light casing between halo and path, on both sides together."""
        return 2.0 if self.projector else 1.5

    @property
    def marker_size(self) -> int:
        return 14 if self.projector else 9

    @property
    def template(self) -> str:
        return "plotly_dark" if self.dark else "plotly_white"

    @property
    def paper_bg(self) -> str:
        return "#0e1117" if self.dark else "#ffffff"

    @property
    def plot_bg(self) -> str:
        return "#0e1117" if self.dark else "#ffffff"

    @property
    def text_color(self) -> str:
        return "#e6e6e6" if self.dark else "#1f2328"

    @property
    def muted_color(self) -> str:
        """A neutral grey for secondary lines (raw moments, reference curves)."""
        return "#9aa0a6" if self.dark else "#6b7280"

    @property
    def halo_color(self) -> str:
        """Outer casing of paths (and marker outlines): dark, for the light end of the contour scale."""
        return "rgba(10,12,16,0.85)"

    @property
    def casing_color(self) -> str:
        """Inner casing of paths, between the dark halo and the colour: light, for the dark end."""
        return "rgba(255,255,255,0.6)"

    @property
    def marker_line(self) -> str:
        return "#0a0c10"

    @property
    def contour_line(self) -> str:
        return "rgba(255,255,255,0.16)"

    @property
    def font(self) -> dict:
        return dict(size=self.font_size, color=self.text_color,
                    family="Inter, 'Source Sans Pro', 'Helvetica Neue', Arial, sans-serif")

    def layout(self, *, legend: bool = True) -> dict:
        """Shared layout: template, backgrounds, font, small margins, horizontal legend on top."""
        z = self.zoom
        return dict(
            template=self.template, paper_bgcolor=self.paper_bg, plot_bgcolor=self.plot_bg,
            font=self.font, showlegend=legend,
            margin=dict(l=round(50 * z), r=round(16 * z), t=round(36 * z), b=round(44 * z)),
            legend=dict(orientation="h", yanchor="bottom", y=1.01, xanchor="left", x=0, traceorder="normal",
                        bgcolor="rgba(0,0,0,0)", font=dict(size=self.small_font_size)),
            hoverlabel=dict(font=dict(size=self.small_font_size)),
        )

    def apply(self, fig: go.Figure, *, legend: bool = True) -> go.Figure:
        """:meth:`layout` applied to ``fig``."""
        fig.update_layout(**self.layout(legend=legend))
        return fig

    def empty(self, fig: go.Figure, text: str) -> go.Figure:
        """An empty-state message in the middle of the figure."""
        fig.add_annotation(text=text, xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False,
                           font=dict(size=self.font_size, color=self.muted_color))
        return fig
