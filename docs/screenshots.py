"""Screenshots of the page for the README, taken in headless Chromium.

    python docs/screenshots.py [--out docs/img]

Serves the page on 127.0.0.1, opens each scene by its link (the same links a person can share) at
desktop (1440×900) and projector (1920×1080) sizes, in the light and dark themes.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser import browser, serve, wait_for_app  # noqa: E402

SHOTS = [
    # name, query, size, theme
    ("contour-light", "", (1440, 900), "light"),
    ("contour-dark", "", (1440, 900), "dark"),
    ("projector", "?projector=true", (1920, 1080), "light"),
    ("animation", "?view=Animation", (1440, 900), "light"),
    ("curves", "?view=Curves", (1440, 1100), "light"),
    ("inspector", "?view=Step+inspector&insp_t=20", (1440, 900), "dark"),
    ("lesson-bias-correction", "?lesson=bias-correction", (1440, 1100), "light"),
    ("lesson-reddi", "?lesson=amsgrad-reddi", (1440, 1000), "dark"),
    ("small-multiples", "?view=Small+multiples", (1440, 900), "light"),
    ("3d", "?view=3-D", (1440, 900), "light"),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "docs" / "img"))
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with serve() as url, browser() as b:
        for name, query, (w, h), theme in SHOTS:
            if args.only and args.only not in name:
                continue
            ctx = b.new_context(viewport={"width": w, "height": h}, color_scheme=theme)
            page = ctx.new_page()
            page.goto(url + "/" + query)
            wait_for_app(page)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(out / f"{name}.png"))
            print("wrote", out / f"{name}.png")
            ctx.close()


if __name__ == "__main__":
    main()
