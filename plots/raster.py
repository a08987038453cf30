"""The surface as a picture: the contour's colour bands rendered with NumPy and Pillow.

Used as the GIF's background and as the animation's background (a layout image, which Plotly's
animation machinery never touches — see :mod:`plots.animation`)."""
from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from .contour import N_LEVELS
from .levels import Levels, levels_for
from .style import colormap


def surface_image(grid, size: tuple[int, int], *, levels: Levels | None = None,
                  n_levels: int = N_LEVELS) -> Image.Image:
    """RGB image (``size`` = (width, height)) of grid values coloured in the contour's bands (same
    levels and colour scale); the image's top row is the domain's top edge."""
    xs, ys, z = grid
    lv = levels or levels_for(z)
    unit = np.nan_to_num(lv.unit(z), nan=0.0).astype(np.float32)[::-1]       # row 0 of Z = lowest y
    fine = np.asarray(Image.fromarray(unit, "F").resize(size, Image.Resampling.BILINEAR))
    bands = (np.minimum(np.floor(fine * n_levels), n_levels - 1) + 0.5) / n_levels
    return Image.fromarray(colormap(bands), "RGB")


def image_uri(img: Image.Image, colors: int = 64) -> str:
    """A compact PNG data URI (the banded image has few colours: a palette PNG of a few kB)."""
    buf = io.BytesIO()
    img.quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def domain_size(domain, longest: int) -> tuple[int, int]:
    """(width, height) in pixels with the domain's aspect ratio and ``longest`` on its longer side."""
    (x0, x1), (y0, y1) = domain
    dx, dy = x1 - x0, y1 - y0
    m = max(dx, dy)
    return max(16, round(longest * dx / m)), max(16, round(longest * dy / m))
