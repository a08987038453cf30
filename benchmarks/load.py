"""Many people on one server: per-interaction latency, errors and server memory under N browser sessions.

    python benchmarks/load.py [--sessions 30] [--seconds 60] [--single-seconds 20] [--think 1.0]
    python benchmarks/load.py --quick            # 3 sessions × 10 s: a short check for CI

The page is served on 127.0.0.1 (``tests/browser.py``'s ``serve``). One headless Chromium (Debian's,
through Playwright) holds one browser context per session, as if each were a separate person. Each
session loads the page, then moves the α slider of the first optimizer with the keyboard (ArrowLeft /
ArrowRight, a walk over α = 1e-3 … 5e-5 where every value gives a different path) and waits, after each
key press, until the chart's path data has changed; then it "thinks" for ``--think`` seconds (uniform
0.5–1.5×) and presses again, until ``--seconds`` have passed.

Latency is measured in the page, from the key press (keydown, capture phase) to the first animation
frame after the path data changed (Plotly draws synchronously, so the new chart is on screen then);
"server" is the part up to the last websocket message received before the change (the server's rerun and
the transfer), the rest is the browser's redraw. First a single session runs alone (the baseline), then
``--sessions`` run at once. Errors: a key press whose chart never changes (30 s), a page error, an
exception box or "Something went wrong" on the page, a websocket closed by the server. The server's
resident memory (VmRSS of the streamlit process) is sampled every second.

Note: all sessions' browsers share this machine's cores with the server, so under load the browser's
redraw (several hundred ms of CPU per chart) competes with the server; on a 2-core machine the p95
ratio measures the machine more than the page. The ``server`` columns separate the two.

The last line is ``RESULT {json}``; the exit status is 1 if there were errors.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from browser import CHROMIUM_ARGS, chromium_path, serve  # noqa: E402

ALPHA_LABEL = "α (learning rate)"
PRESS_TIMEOUT_MS = 30_000
LOAD_TIMEOUT_MS = 180_000
WALK = 4                      # presses left, then right, then left … (α = 1e-3 → 5e-5 → 1e-3)

# Record when the last websocket message arrived (installed before the page's scripts run).
WS_HOOK = """(() => { const Native = window.WebSocket;
  window.__lastMsg = 0; window.__wsClosed = 0;
  window.WebSocket = function (...args) { const ws = new Native(...args);
    ws.addEventListener('message', () => { window.__lastMsg = performance.now(); });
    ws.addEventListener('close', (e) => { if (!window.__leaving) window.__wsClosed += 1; });
    return ws; };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3}); })();"""
# The paths drawn on the contour chart (traces with meta.role == "path"): their length and last point.
SIG = """() => { const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
  if (!gd || !gd.data) return null;
  const paths = gd.data.filter(t => t.meta && t.meta.role === 'path' && t.x);
  if (!paths.length) return null;
  return JSON.stringify(paths.map(t => { const x = t.x._inputArray || t.x, y = t.y._inputArray || t.y;
    const n = x.length; return [t.name, n, Number(x[n - 1]), Number(y[n - 1])]; })); }"""
# Arm a watcher: the clock starts at the key press and stops at the first frame after the paths changed.
ARM = """(old) => { window.__lat = null; window.__srv = null; window.__t0 = null;
  document.addEventListener('keydown', () => { window.__t0 = performance.now(); }, {once: true, capture: true});
  const sig = """ + SIG + """;
  const tick = () => { const s = sig();
    if (window.__t0 !== null && s !== null && s !== old) {
      window.__lat = performance.now() - window.__t0;
      window.__srv = window.__lastMsg > window.__t0 ? window.__lastMsg - window.__t0 : null;
    } else requestAnimationFrame(tick); };
  requestAnimationFrame(tick); }"""
PROBLEMS = """() => [document.querySelectorAll('[data-testid="stException"]').length,
  (document.body.textContent || '').includes('Something went wrong'), window.__wsClosed]"""
IDLE = "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"


# ---- the server's memory ---------------------------------------------------------------------------------

def server_pid(port: int) -> int | None:
    """The streamlit process listening on ``port`` (found by its command line)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in b" ".join(cmd) and f"--server.port={port}".encode() in cmd:
            return int(entry)
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of the process (all its threads) so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class MemorySampler(threading.Thread):
    """VmRSS of ``pid`` every ``interval`` seconds: ``samples`` = [(seconds since start, MB)]."""

    def __init__(self, pid: int, interval: float = 1.0):
        super().__init__(daemon=True)
        self.pid, self.interval, self.samples = pid, interval, []
        self._stop_event = threading.Event()
        self.t0 = time.monotonic()

    def run(self):
        while not self._stop_event.is_set():
            mb = rss_mb(self.pid)
            if mb is not None:
                self.samples.append((time.monotonic() - self.t0, mb))
            self._stop_event.wait(self.interval)

    def now(self) -> float | None:
        return rss_mb(self.pid)

    def cpu(self) -> float | None:
        return cpu_seconds(self.pid)

    def stop(self):
        self._stop_event.set()
        self.join(5)


# ---- one session ---------------------------------------------------------------------------------------

class Session:
    def __init__(self, index: int, rng: random.Random):
        self.index, self.rng = index, rng
        self.latencies: list[float] = []      # ms, key press → chart redrawn
        self.server: list[float] = []         # ms, key press → last websocket message before the redraw
        self.errors: list[str] = []
        self.load_seconds: float | None = None
        self.first_done = asyncio.Event()

    async def open(self, browser, url: str):
        self.ctx = await browser.new_context(viewport={"width": 1440, "height": 900})
        self.page = await self.ctx.new_page()
        await self.page.add_init_script(WS_HOOK)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {str(e)[:200]}"))
        self.page.on("crash", lambda _: self.errors.append("page crashed"))
        t0 = time.perf_counter()
        await self.page.goto(url, timeout=LOAD_TIMEOUT_MS)
        await self.page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=LOAD_TIMEOUT_MS)
        await self.page.wait_for_function(IDLE, timeout=LOAD_TIMEOUT_MS, polling=100)
        await self.page.wait_for_function(SIG, timeout=LOAD_TIMEOUT_MS, polling=100)
        self.load_seconds = time.perf_counter() - t0
        self.slider = self.page.locator('[data-testid="stSlider"]', has_text=ALPHA_LABEL).first.get_by_role("slider")

    async def interact(self, deadline: float, think: float):
        presses = 0
        while time.monotonic() < deadline:
            key = "ArrowLeft" if (presses // WALK) % 2 == 0 else "ArrowRight"
            presses += 1
            try:
                await self.page.wait_for_function(IDLE, timeout=PRESS_TIMEOUT_MS, polling=100)
                await self.slider.focus()
                old = await self.page.evaluate(SIG)
                await self.page.evaluate(ARM, old)
                await self.slider.press(key)
                await self.page.wait_for_function("() => window.__lat !== null", timeout=PRESS_TIMEOUT_MS,
                                                  polling=50)
                lat, srv = await self.page.evaluate("() => [window.__lat, window.__srv]")
                self.latencies.append(lat)
                if srv is not None:
                    self.server.append(srv)
                exceptions, went_wrong, closed = await self.page.evaluate(PROBLEMS)
                if exceptions or went_wrong:
                    self.errors.append(f"exception shown on the page ({exceptions}, {went_wrong})")
                if closed:
                    self.errors.append(f"websocket closed {closed} time(s)")
                    await self.page.evaluate("() => { window.__wsClosed = 0; }")
            except Exception as exc:  # noqa: BLE001 - a timeout or a dead page is an error of the run
                self.errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
                if "closed" in str(exc).lower() or "crash" in str(exc).lower():
                    break
            self.first_done.set()
            if think:
                await asyncio.sleep(think * self.rng.uniform(0.5, 1.5))
        self.first_done.set()

    async def close(self):
        try:
            await self.page.evaluate("() => { window.__leaving = true; }")
            await self.ctx.close()
        except Exception:  # noqa: BLE001 - already gone
            pass


async def run_phase(browser, url: str, n: int, seconds: float, think: float, seed: int, memory: MemorySampler,
                    stagger: float = 2.0) -> dict:
    """n sessions: all load the page (starting within ``stagger`` seconds), then all interact for
    ``seconds``. Returns latencies, errors and the memory marks."""
    rng = random.Random(seed)
    sessions = [Session(i, random.Random(rng.random())) for i in range(n)]

    async def opened(s):
        await asyncio.sleep(rng.uniform(0, stagger) if n > 1 else 0)
        try:
            await s.open(browser, url)
        except Exception as exc:  # noqa: BLE001
            s.errors.append(f"load failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")

    t_load = time.perf_counter()
    cpu_load = memory.cpu()
    await asyncio.gather(*(opened(s) for s in sessions))
    load_all = time.perf_counter() - t_load
    live = [s for s in sessions if s.load_seconds is not None]
    mem_loaded = memory.now()
    cpu_start, t_start = memory.cpu(), time.monotonic()
    deadline = t_start + seconds
    tasks = [asyncio.ensure_future(s.interact(deadline, think)) for s in live]
    await asyncio.gather(*(s.first_done.wait() for s in live))
    mem_warm = memory.now()
    await asyncio.gather(*tasks)
    mem_end = memory.now()
    cpu_end, t_end = memory.cpu(), time.monotonic()
    await asyncio.gather(*(s.close() for s in sessions))
    lat = [v for s in sessions for v in s.latencies]
    srv = [v for s in sessions for v in s.server]
    return dict(sessions=n, interactions=len(lat), latencies=lat, server=srv,
                errors=[e for s in sessions for e in s.errors],
                loads=[s.load_seconds for s in live], load_all=load_all,
                server_cpu_load=cpu_start - cpu_load, server_cpu=cpu_end - cpu_start, wall=t_end - t_start,
                memory=dict(loaded=mem_loaded, warm=mem_warm, end=mem_end))


# ---- report --------------------------------------------------------------------------------------------

def pct(values, q):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))]


def row(label, r):
    return (f"{label:<24s} {r['sessions']:>8d} {r['interactions']:>12d} {pct(r['latencies'], 50):>8.0f} "
            f"{pct(r['latencies'], 95):>8.0f} {pct(r['server'], 50):>10.0f} {pct(r['server'], 95):>10.0f} "
            f"{len(r['errors']):>7d}")


async def main_async(args) -> dict:
    from playwright.async_api import async_playwright

    t0 = time.perf_counter()
    with serve("app.py") as url:
        up = time.perf_counter() - t0
        pid = server_pid(urlparse(url).port)
        if pid is None:
            raise RuntimeError("could not find the streamlit process")
        memory = MemorySampler(pid)
        memory.start()
        mem_start = memory.now()
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            try:
                single = await run_phase(browser, url, 1, args.single_seconds, args.think, 1, memory)
                many = await run_phase(browser, url, args.sessions, args.seconds, args.think, 2, memory)
            finally:
                await browser.close()
        memory.stop()
    mem = [mb for _, mb in memory.samples]
    result = dict(
        sessions=args.sessions, seconds=args.seconds, think=args.think, server_start_seconds=round(up, 2),
        single=dict(p50=pct(single["latencies"], 50), p95=pct(single["latencies"], 95),
                    server_p50=pct(single["server"], 50), server_p95=pct(single["server"], 95),
                    interactions=single["interactions"], errors=single["errors"],
                    load=single["loads"][0] if single["loads"] else None),
        many=dict(p50=pct(many["latencies"], 50), p95=pct(many["latencies"], 95),
                  server_p50=pct(many["server"], 50), server_p95=pct(many["server"], 95),
                  interactions=many["interactions"], errors=many["errors"],
                  load_p50=pct(many["loads"], 50), load_p95=pct(many["loads"], 95),
                  load_all_seconds=round(many["load_all"], 2)),
        memory_mb=dict(start=mem_start, single_end=single["memory"]["end"], loaded=many["memory"]["loaded"],
                       warm=many["memory"]["warm"], end=many["memory"]["end"], max=max(mem) if mem else None,
                       samples=[(round(t, 1), round(mb, 1)) for t, mb in memory.samples]),
    )
    for key, r in (("single", single), ("many", many)):
        result[key].update(server_cpu_seconds=round(r["server_cpu"], 2),
                           server_cpu_per_interaction=round(r["server_cpu"] / max(1, r["interactions"]), 3),
                           server_cpu_busy=round(r["server_cpu"] / max(r["wall"], 1e-9), 2),
                           server_cpu_per_load=round(r["server_cpu_load"] / max(1, len(r["loads"])), 3))
    result["ratio_p95"] = result["many"]["p95"] / result["single"]["p95"] if single["latencies"] else None
    result["errors"] = len(single["errors"]) + len(many["errors"])

    print(f"$ python benchmarks/load.py --sessions {args.sessions} --seconds {args.seconds:g} "
          f"--single-seconds {args.single_seconds:g} --think {args.think:g}")
    print(f"server up in {up:.1f} s (pid {pid}); {os.cpu_count()} CPUs")
    print(f"{'':24s} {'sessions':>8s} {'interactions':>12s} {'p50 ms':>8s} {'p95 ms':>8s} "
          f"{'server p50':>10s} {'server p95':>10s} {'errors':>7s}")
    print(row("single session (alone)", single))
    print(row(f"{args.sessions} sessions at once", many))
    ratio = result["ratio_p95"]
    print(f"ratio p95({args.sessions}) / p95(1): {ratio:.2f}  (goal ≤ 3)" if ratio else "ratio: n/a")
    for key, label in (("single", "alone"), ("many", f"with {args.sessions}")):
        r = result[key]
        print(f"server CPU {label}: {r['server_cpu_per_interaction'] * 1000:.0f} ms per interaction, "
              f"{r['server_cpu_per_load']:.2f} s per page load; busy {r['server_cpu_busy'] * 100:.0f}% of one core")
    if result["single"]["load"] is not None:
        print(f"page load alone: {result['single']['load']:.1f} s")
    print(f"page load with {args.sessions} at once: p50 {result['many']['load_p50']:.1f} s, "
          f"p95 {result['many']['load_p95']:.1f} s; all loaded after {many['load_all']:.1f} s")
    m = result["memory_mb"]
    fmt = lambda v: "n/a" if v is None else f"{v:.0f} MB"  # noqa: E731
    print(f"server memory (VmRSS): start {fmt(m['start'])}, after the single session {fmt(m['single_end'])}, "
          f"{args.sessions} loaded {fmt(m['loaded'])}, after warm-up {fmt(m['warm'])}, end {fmt(m['end'])}, "
          f"max {fmt(m['max'])}")
    if m["warm"] and m["end"]:
        print(f"growth after warm-up: {m['end'] - m['warm']:+.0f} MB")
    kinds: dict[str, int] = {}
    for e in single["errors"] + many["errors"]:
        kinds[e[:90]] = kinds.get(e[:90], 0) + 1
    for e, n in sorted(kinds.items(), key=lambda kv: -kv[1]):
        print(f"error ×{n}: {e}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    print("RESULT " + json.dumps({k: v for k, v in result.items() if k != "memory_mb"} |
                                 {"memory_mb": {k: v for k, v in m.items() if k != "samples"}}))
    return result


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sessions", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=60.0, help="interaction time once all sessions have loaded")
    ap.add_argument("--single-seconds", type=float, default=20.0, help="interaction time of the lone baseline session")
    ap.add_argument("--think", type=float, default=1.0, help="mean pause between key presses (seconds)")
    ap.add_argument("--quick", action="store_true", help="3 sessions × 10 s (single 5 s): a short check for CI")
    ap.add_argument("--json", help="also write the full result (with memory samples) to this file")
    args = ap.parse_args(argv)
    if args.quick:
        args.sessions, args.seconds, args.single_seconds, args.think = 3, 10.0, 5.0, 0.5
    if chromium_path() is None:
        sys.exit("Debian's chromium is needed (apt-get install chromium)")
    result = asyncio.run(main_async(args))
    sys.exit(1 if result["errors"] else 0)


if __name__ == "__main__":
    main()
