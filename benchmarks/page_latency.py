"""Slider-to-redraw latency of the page against a bare Streamlit page, in headless Chromium.

    python benchmarks/page_latency.py [--presses 15]

Both pages are served on 127.0.0.1 and measured in the same run. For each key press on a slider
(ArrowRight/ArrowLeft, alternating, move it one step) the time is taken from the key press to the first animation frame
after the chart's data changed (Plotly draws synchronously, so the new chart is on screen then).
Also printed: cold start (process start → first chart drawn) and the first render's websocket payload.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from browser import browser, serve, wait_for_app  # noqa: E402

# The page's paths: on this page the runs are drawn on the contour chart's upper graph (ui/chart.js), on the
# bare page by st.plotly_chart. The signature is the last points of the first path.
SIG = """() => { const gd = document.querySelector('.opt-chart-upper') ||
                           document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
  if (!gd || !gd.data) return null;
  const xs = gd.data.filter(t => t.type !== 'contour' && t.x && t.name && t.name !== 'click').map(t => t.x._inputArray || t.x)
                   .filter(a => a.length > 2);
  return xs.length ? JSON.stringify(Array.from(xs[0]).slice(-3)) : null; }"""
# Arm a watcher: the clock starts at the key press (keydown, capture phase) and stops at the first
# animation frame after the chart's path data changed.
ARM = """(old) => { window.__lat = null; window.__t0 = null;
  document.addEventListener('keydown', () => { window.__t0 = performance.now(); }, {once: true, capture: true});
  const sig = """ + SIG + """;
  const tick = () => { const s = sig();
    if (window.__t0 !== null && s !== null && s !== old) window.__lat = performance.now() - window.__t0;
    else requestAnimationFrame(tick); };
  requestAnimationFrame(tick); }"""


def measure(b, url, slider_label, presses, size=(1440, 900)):
    ctx = b.new_context(viewport={"width": size[0], "height": size[1]})
    page = ctx.new_page()
    received = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: received.append(len(f) if f else 0)))
    t0 = time.perf_counter()
    page.goto(url)
    wait_for_app(page)
    first = time.perf_counter() - t0
    payload = sum(received)
    sliders = page.locator('[data-testid="stSlider"]')
    slider = (sliders.filter(has_text=slider_label) if slider_label else sliders).first.get_by_role("slider")
    times = []
    for i in range(presses):   # alternate right/left: every press changes the path, none runs off to inf
        slider.focus()
        old = page.evaluate(SIG)
        page.evaluate(ARM, old)
        slider.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
        page.wait_for_function("() => window.__lat !== null", timeout=30_000)
        times.append(page.evaluate("() => window.__lat"))
        page.wait_for_timeout(400)
    ctx.close()
    return times, first, payload


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--presses", type=int, default=15)
    ap.add_argument("--slider", default="α (learning rate)",
                    help="the label of this page's slider to move (the first one with it): the default, the "
                         "first optimizer's α, reruns that optimizer's panel; a surface parameter such as b "
                         "reruns the whole page")
    args = ap.parse_args()
    print(f"$ python benchmarks/page_latency.py --presses {args.presses} --slider {args.slider!r}")
    with browser() as b:
        rows = {}
        # the bare page's one slider, and the first optimizer's α on this page (default scene)
        for name, script, idx in (("bare page", "benchmarks/bare_app.py", None),
                                  ("this page", "app.py", args.slider)):
            t0 = time.perf_counter()
            with serve(script) as url:
                up = time.perf_counter() - t0
                times, first, payload = measure(b, url, idx, args.presses)
            rows[name] = (times, up + first, payload)
            print(f"{name:10s}: median {statistics.median(times):7.1f} ms  p90 "
                  f"{sorted(times)[int(0.9 * (len(times) - 1))]:7.1f} ms  ({len(times)} presses); "
                  f"cold start {up + first:5.2f} s; first render payload {payload / 1e6:5.2f} MB")
        ratio = statistics.median(rows["this page"][0]) / statistics.median(rows["bare page"][0])
        print(f"ratio (this page / bare page, median slider-to-redraw): {ratio:.2f}")


if __name__ == "__main__":
    main()
