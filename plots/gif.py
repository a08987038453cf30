"""An animated GIF of the runs drawn with NumPy and Pillow only (no browser): ``animation_gif``.

The background is the surface coloured through the same levels and colour scale as the contour, the
paths are drawn once, faintly, and each frame only adds the moving dots and a step counter. The image
is quantised to a palette once (with the run colours reserved), so each frame is a copy of a palette
image plus a few shapes: ~30× faster than rendering frames with kaleido.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .animation import frame_steps
from .data import check_grid, check_positive_int, check_runs, check_style, check_surface
from .overlay import thin_index
from .raster import surface_image
from .style import Style, hex_rgb

MAX_PX = 1e6           # pixel coordinates are clamped to ±MAX_PX (Pillow takes ints; nothing is visible there)
GIF_PATH_POINTS = 2000


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:                   # Pillow without FreeType: fixed-size bitmap font
        return ImageFont.load_default()


class _Canvas:
    """Domain → pixel mapping for an image of ``size`` = (width, height)."""

    def __init__(self, domain, size):
        (self.x0, self.x1), (self.y0, self.y1) = domain
        self.w, self.h = size

    def px(self, xy: np.ndarray) -> np.ndarray:
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        u = (xy[:, 0] - self.x0) / (self.x1 - self.x0) * (self.w - 1)
        v = (self.y1 - xy[:, 1]) / (self.y1 - self.y0) * (self.h - 1)
        return np.clip(np.stack([u, v], axis=-1), -MAX_PX, MAX_PX)


def _star(cx, cy, r):
    ang = np.pi / 2 + np.arange(10) * np.pi / 5
    rad = np.where(np.arange(10) % 2 == 0, r, r * 0.45)
    return [(float(cx + q * np.cos(a)), float(cy - q * np.sin(a))) for a, q in zip(ang, rad)]


def animation_gif(surface, grid, runs, style: Style | None = None, *, frames: int = 80,
                  size: tuple[int, int] = (480, 400), frame_ms: int = 60) -> bytes:
    """GIF bytes (looping) of all runs moving in lockstep over the coloured surface.

    ``frames`` frames spread evenly over the steps, always with step 0 and the last step (fewer when a
    run has fewer steps than that). The whole domain fills the image (``size`` = (width, height))."""
    check_surface(surface)
    runs = check_runs(runs)
    style = check_style(style)
    grid = check_grid(grid)
    frames = check_positive_int("frames", frames, lo=2)
    frame_ms = check_positive_int("frame_ms", frame_ms)
    if not (isinstance(size, (tuple, list)) and len(size) == 2):
        raise ValueError(f"size must be (width, height), got {size!r}")
    size = (check_positive_int("width", size[0], lo=16), check_positive_int("height", size[1], lo=16))
    canvas = _Canvas(surface.domain, size)
    z = style.zoom
    dot = max(3, round(5 * z * size[0] / 480))

    # Static layer: background, faint paths, minima, starts (drawn in RGB, blended, then quantised once).
    bg = surface_image(grid, size).convert("RGBA")
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for run in runs:
        r, g, b = hex_rgb(run.color)
        for i in range(run.k):
            d = int(run.diverged_at[i])
            p = run.path[i, :(run.steps + 1 if d < 0 else max(d, 1))]
            pts = [tuple(q) for q in canvas.px(p[thin_index(len(p), GIF_PATH_POINTS)]).tolist()]
            if len(pts) > 1:
                draw.line(pts, fill=(10, 12, 16, 150), width=max(3, round(4 * z)), joint="curve")
                draw.line(pts, fill=(r, g, b, 210), width=max(1, round(2 * z)), joint="curve")
    img = Image.alpha_composite(bg, layer).convert("RGB")
    draw = ImageDraw.Draw(img)
    for q in canvas.px(surface.minima):
        draw.polygon(_star(q[0], q[1], dot * 2), fill=(255, 255, 255), outline=(0, 0, 0))

    reserved = ["#000000", "#ffffff", "#0e1117"] + sorted({run.color for run in runs})
    base = img.quantize(colors=256 - len(reserved), method=Image.Quantize.MEDIANCUT,
                        dither=Image.Dither.NONE)
    pal = base.getpalette()[: 3 * (256 - len(reserved))]
    pal += [0] * (3 * (256 - len(reserved)) - len(pal))
    index = {}
    for k, c in enumerate(reserved):
        index[c] = 256 - len(reserved) + k
        pal += list(hex_rgb(c))
    base.putpalette(pal)
    black, white = index["#000000"], index["#ffffff"]
    box_fill, text_fill = (index["#0e1117"], white) if style.dark else (white, black)
    font = _font(max(10, round(13 * z * size[0] / 480)))

    total = max((r.steps for r in runs), default=0)
    images = []
    for s in frame_steps(total, frames):
        im = base.copy()
        dr = ImageDraw.Draw(im)
        for run in runs:
            step = min(int(s), run.steps)
            for q in canvas.px(run.path[:, step]):
                dr.ellipse([q[0] - dot, q[1] - dot, q[0] + dot, q[1] + dot], fill=index[run.color],
                           outline=black, width=max(1, round(z)))
        label = f"step {int(s)} / {total}"
        x0, y0, x1, y1 = dr.textbbox((6, 4), label, font=font)
        dr.rectangle([x0 - 4, y0 - 3, x1 + 4, y1 + 3], fill=box_fill)
        dr.text((6, 4), label, fill=text_fill, font=font)
        images.append(im)
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=frame_ms, loop=0,
                   optimize=False)
    return buf.getvalue()
