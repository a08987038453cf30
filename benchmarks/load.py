"""Many people on one server: per-interaction latency, errors and server memory under N sessions.

    python benchmarks/load.py [--driver ws|browser] [--sessions 30] [--seconds 60] [--single-seconds 60] [--think 5]
                               [--together]
    python benchmarks/load.py --quick            # 3 sessions × 10 s: a short check for CI
    python benchmarks/load.py --validate         # the ws driver against a real browser, move by move

The page is served on 127.0.0.1 (``tests/browser.py``'s ``serve``). Each session loads the page, then moves
the α slider of the first optimizer one step (a walk over α = 1e-3 … 5e-5: 4 steps down, 4 up, …, where
every value gives a different path), waits until the new chart is there, "thinks" for ``--think`` seconds
(uniform 0.5–1.5×) and moves again, until ``--seconds`` have passed. First a single session runs alone
(the baseline), then ``--sessions`` run at once: once all have loaded, each makes its first move after
a pause of 0–``--think`` seconds, as people do (``--together``: all at the same moment, the worst burst;
the report also gives the latencies without those first moves). Errors: a move
whose chart never changes (30 s), an exception box on the page, a websocket closed by the server (and, in
the browser, a page error or "Something went wrong"). The server's resident memory (VmRSS of the
streamlit process) is sampled every second and its CPU time read around each phase.

Two drivers play the sessions:

``--driver ws`` (the default) speaks Streamlit's own websocket protocol from this one Python process
(asyncio and the ``websockets`` package, which Streamlit itself depends on), as the 1.67 frontend does:
a session fetches ``/`` and the scripts and styles it names (not the chunks the page loads later, such as
Plotly's), ``/_stcore/health`` (which sets the ``_streamlit_xsrf`` cookie) and ``/_stcore/host-config``,
then opens ``ws://…/_stcore/stream`` with the subprotocols ``streamlit, <xsrf token>``, the cookie and the
page's Origin. Its first ``BackMsg`` is ``rerun_script`` with no widget states and the context (time zone,
locale, URL); the ``ForwardMsg``s that follow are read until ``script_finished``. Every later
``rerun_script`` carries, like the frontend's, the state of every widget drawn in the last run (the value
the server set, else the one chosen here, else the default in the element's proto), the page's script
hash, the query string (widgets bound to the URL write their non-default values into it) and the hashes
of the large messages it holds, so the server may send a reference instead (the frontend's message cache
and its expiry after ``global.maxCachedMessageAge`` runs are reproduced). The latency of a move runs from
sending its ``rerun_script`` to receiving ``script_finished``; "chart" is the part up to the contour
chart's delta. It includes the server's queue and rerun, the messages' serialisation and transfer and
their decoding here; it excludes what a browser then does: decoding in JavaScript, React, and Plotly's
redraw (several hundred ms of CPU per chart), which the browser driver measures. 30 ws sessions cost the
client a few per cent of one core, so under load the server is measured, not the client. The ws latency
has been checked against the browser with ``--validate``: the same ``rerun_script`` (widget states, query
string, page, cached hashes) and the same paths on the chart, move by move.

``--driver browser``: one headless Chromium (Debian's, through Playwright) holds one browser context per
session, as if each were a separate person; the session moves α with the keyboard (ArrowLeft /
ArrowRight) and waits, after each key press, until the chart's path data has changed. Latency is measured
in the page, from the key press (keydown, capture phase) to the first animation frame after the path data
changed (Plotly draws synchronously, so the new chart is on screen then); "server" is the part up to the
last websocket message received before the change (the server's rerun and the transfer), the rest is the
browser's redraw. All sessions' browsers share this machine's cores with the server, so under load the
browser's redraw competes with the server; on a 2-core machine the p95 ratio measures the machine more
than the page.

The last line is ``RESULT {json}``; the exit status is 1 if there were errors.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import random
import re
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from browser import CHROMIUM_ARGS, chromium_path, serve  # noqa: E402

ALPHA_LABEL = "α (learning rate)"
PRESS_TIMEOUT_MS = 30_000
LOAD_TIMEOUT_MS = 180_000
WALK = 4                      # moves left, then right, then left … (α = 1e-3 → 5e-5 → 1e-3)


def walk_step(moves: int) -> int:
    """The direction of move number ``moves`` (from 0): -1 (left, smaller α) for WALK moves, then +1 …"""
    return -1 if (moves // WALK) % 2 == 0 else 1


def first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [""])[0][:200]


# ---- the server's memory and CPU -------------------------------------------------------------------------

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


def own_cpu_seconds() -> float:
    """User + system CPU time of this process (the ws driver's client side, all sessions)."""
    t = os.times()
    return t.user + t.system


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
    """One person: ``open`` loads the page, ``interact`` moves α until the deadline (``move`` is one move,
    which appends to ``latencies`` and ``parts`` or raises), ``close`` leaves."""
    PART = "server"           # what ``parts`` measures: the part of the latency up to …

    def __init__(self, index: int, rng: random.Random):
        self.index, self.rng = index, rng
        self.latencies: list[float] = []      # ms, the whole move
        self.parts: list[float] = []          # ms, the move up to PART
        self.errors: list[str] = []
        self.load_seconds: float | None = None
        self.first_done = asyncio.Event()

    async def interact(self, deadline: float, think: float, pause: float = 0.0):
        """Move, think, move … until the deadline, after a first ``pause`` (seconds)."""
        await asyncio.sleep(pause)
        moves = 0
        while time.monotonic() < deadline:
            step = walk_step(moves)
            moves += 1
            try:
                await self.move(step)
            except Exception as exc:  # noqa: BLE001 - a timeout or a dead page is an error of the run
                self.errors.append(f"{type(exc).__name__}: {first_line(exc)}")
                if self.fatal(exc):
                    break
            self.first_done.set()
            if think:
                await asyncio.sleep(think * self.rng.uniform(0.5, 1.5))
        self.first_done.set()

    async def open(self):
        raise NotImplementedError

    async def move(self, step: int):
        raise NotImplementedError

    def fatal(self, exc: Exception) -> bool:
        """After this error the session cannot go on."""
        return False

    async def close(self):
        pass


# ---- the browser driver ----------------------------------------------------------------------------------

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
SIG = """() => { const gd = document.querySelector('.opt-chart-upper');
  if (!gd || !gd.data) return null;
  const paths = gd.data.filter(t => t.meta && t.meta.role === 'path' && t.x);
  if (!paths.length) return null;
  return JSON.stringify(paths.map(t => { const x = t.x._inputArray || t.x, y = t.y._inputArray || t.y;
    const n = x.length; return [t.name, n, Number(x[n - 1]), Number(y[n - 1])]; })); }"""
# The same paths in full, [name, xs, ys] (for --validate).
PATHS = """() => { const gd = document.querySelector('.opt-chart-upper');
  return gd.data.filter(t => t.meta && t.meta.role === 'path' && t.x).map(t =>
    [t.name, Array.from(t.x._inputArray || t.x, Number), Array.from(t.y._inputArray || t.y, Number)]); }"""
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


class BrowserSession(Session):
    """A browser context in headless Chromium; latency: key press → the new chart on screen."""
    PART = "server"

    def __init__(self, index: int, rng: random.Random, browser, url: str, frames: list | None = None):
        super().__init__(index, rng)
        self.browser, self.url = browser, url
        self.frames = frames              # a list: collect the websocket frames the page sends (--validate)

    async def open(self):
        self.ctx = await self.browser.new_context(viewport={"width": 1440, "height": 900})
        self.page = await self.ctx.new_page()
        await self.page.add_init_script(WS_HOOK)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {str(e)[:200]}"))
        self.page.on("crash", lambda _: self.errors.append("page crashed"))
        if self.frames is not None:
            self.page.on("websocket", lambda ws: ws.on("framesent", lambda f: self.frames.append(f)))
        t0 = time.perf_counter()
        await self.page.goto(self.url, timeout=LOAD_TIMEOUT_MS)
        await self.page.wait_for_selector('.opt-chart-upper .main-svg', timeout=LOAD_TIMEOUT_MS)
        await self.page.wait_for_function(IDLE, timeout=LOAD_TIMEOUT_MS, polling=100)
        await self.page.wait_for_function(SIG, timeout=LOAD_TIMEOUT_MS, polling=100)
        self.load_seconds = time.perf_counter() - t0
        self.slider = self.page.locator('[data-testid="stSlider"]', has_text=ALPHA_LABEL).first.get_by_role("slider")

    async def move(self, step: int):
        await self.page.wait_for_function(IDLE, timeout=PRESS_TIMEOUT_MS, polling=100)
        await self.slider.focus()
        old = await self.page.evaluate(SIG)
        await self.page.evaluate(ARM, old)
        await self.slider.press("ArrowLeft" if step < 0 else "ArrowRight")
        await self.page.wait_for_function("() => window.__lat !== null", timeout=PRESS_TIMEOUT_MS, polling=50)
        lat, srv = await self.page.evaluate("() => [window.__lat, window.__srv]")
        self.latencies.append(lat)
        if srv is not None:
            self.parts.append(srv)
        exceptions, went_wrong, closed = await self.page.evaluate(PROBLEMS)
        if exceptions or went_wrong:
            self.errors.append(f"exception shown on the page ({exceptions}, {went_wrong})")
        if closed:
            self.errors.append(f"websocket closed {closed} time(s)")
            await self.page.evaluate("() => { window.__wsClosed = 0; }")

    def fatal(self, exc: Exception) -> bool:
        return "closed" in str(exc).lower() or "crash" in str(exc).lower()

    async def close(self):
        try:
            await self.page.evaluate("() => { window.__leaving = true; }")
            await self.ctx.close()
        except Exception:  # noqa: BLE001 - already gone
            pass


# ---- the websocket driver --------------------------------------------------------------------------------

def page_assets(url: str) -> list[str]:
    """The scripts and styles index.html names (what a fresh browser fetches before it connects)."""
    html = urllib.request.urlopen(url + "/", timeout=30).read().decode()
    return ["/" + path for path in re.findall(r'(?:src|href)="\./(static/[^"]+)"', html)]


async def http_get(host: str, port: int, path: str) -> tuple[int, list[tuple[str, str]]]:
    """GET ``path`` as a browser would (compression accepted; the body is read and dropped): the status
    and the headers."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n"
                     f"Connection: close\r\n\r\n".encode())
        await writer.drain()
        data = await reader.read()
    finally:
        writer.close()
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    status = int(head[0].split()[1]) if head and len(head[0].split()) > 1 else 0
    return status, [tuple(h.split(": ", 1)) for h in head[1:] if ": " in h]


def widget_state(kind: str, w):
    """The state the 1.67 frontend holds for a widget it has just drawn: the value the server set
    (``set_value``), else the default. Choices (select-slider, selectbox, radio, multiselect) are held as
    their option strings. None for a widget that has no value, or a kind this app does not use."""
    from streamlit.proto.NumberInput_pb2 import NumberInput
    from streamlit.proto.Slider_pb2 import Slider
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    s = WidgetState(id=w.id)
    if kind == "slider" and w.type == Slider.SELECT_SLIDER:
        s.string_array_value.data.extend(w.raw_value if w.set_value else [w.options[int(i)] for i in w.default])
    elif kind == "slider":
        s.double_array_value.data.extend(w.value if w.set_value else w.default)
    elif kind in ("selectbox", "radio"):
        if w.set_value and w.HasField("raw_value"):
            s.string_value = w.raw_value
        elif not w.set_value and w.HasField("default"):
            s.string_value = w.options[w.default]
        else:
            return None
    elif kind == "multiselect":
        s.string_array_value.data.extend(w.raw_values if w.set_value else [w.options[i] for i in w.default])
    elif kind == "checkbox":
        s.bool_value = w.value if w.set_value else w.default
    elif kind == "number_input":
        if not (w.HasField("value") if w.set_value else w.HasField("default")):
            return None
        v = w.value if w.set_value else w.default
        if w.data_type == NumberInput.INT:
            s.int_value = int(v)
        else:
            s.double_value = v
    elif kind in ("text_input", "text_area"):
        if not (w.HasField("value") if w.set_value else w.HasField("default")):
            return None
        s.string_value = w.value if w.set_value else w.default
    else:
        return None
    return s


WIDGETS = {"slider", "selectbox", "radio", "multiselect", "checkbox", "number_input", "text_input", "text_area"}


@dataclass
class Rerun:
    """One rerun as the ws driver sees it."""
    sent: float = field(default_factory=time.perf_counter)
    started: bool = False                   # its new_session has arrived
    chart: str | None = None                # the contour chart's figure JSON …
    chart_at: float | None = None           # … and when it arrived
    alpha: object = None                    # the α slider's proto …
    alpha_fragment: str = ""                # … and the fragment (its optimizer's panel) that drew it
    widgets: set = field(default_factory=set)   # the ids of the widgets it drew
    exceptions: list = field(default_factory=list)
    finished_at: float | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def restart(self):
        """A new run replaces this one (the server reran the script before it finished)."""
        self.started, self.chart, self.chart_at, self.alpha, self.widgets = True, None, None, None, set()


class WsSession(Session):
    """Streamlit's websocket protocol as the frontend speaks it; latency: rerun_script sent → script_finished."""
    PART = "chart"

    def __init__(self, index: int, rng: random.Random, url: str, assets: list[str]):
        super().__init__(index, rng)
        self.url, self.assets = url, assets
        self.ws = self.reader = None
        self.states: dict = {}                # the widgets' states, by id (WidgetState protos)
        self.query: dict[str, list[str]] = {}  # the URL's query parameters
        # the frontend's message cache: hash → [message bytes, run count when last used, fragment id]
        self.cache: dict[str, list] = {}
        self.run_count, self.max_age = 0, 2
        self.page_hash = ""
        self.run: Rerun | None = None         # the rerun under way, or the last one
        self.alpha = None                     # the α slider's proto (from the last run)
        self.alpha_fragment = ""              # its panel's fragment: a move reruns only that
        self.chart: str | None = None         # the contour chart's figure JSON (from the last run)
        self.sent = None                      # the last ClientState sent
        self.closed: str | None = None
        self.leaving = False

    async def open(self):
        from websockets.asyncio.client import connect

        t0 = time.perf_counter()
        u = urlparse(self.url)
        lanes = asyncio.Semaphore(6)          # a browser's connections per host

        async def get(path):
            async with lanes:
                status, headers = await http_get(u.hostname, u.port, path)
            if status != 200:
                raise RuntimeError(f"HTTP {status} for {path}")
            return headers

        await get("/")
        got = await asyncio.gather(*(get(p) for p in self.assets), get("/_stcore/health"), get("/_stcore/host-config"))
        token = next((v.split(";")[0].split("=", 1)[1] for k, v in got[-2]
                      if k.lower() == "set-cookie" and v.startswith("_streamlit_xsrf=")), None)
        self.ws = await connect(f"ws://{u.netloc}/_stcore/stream", origin=self.url,
                                subprotocols=["streamlit", token or "PLACEHOLDER_AUTH_TOKEN"],
                                additional_headers={"Cookie": f"_streamlit_xsrf={token}"} if token else None,
                                compression=None, max_size=None, ping_interval=None, proxy=None,
                                open_timeout=LOAD_TIMEOUT_MS / 1000)
        self.reader = asyncio.ensure_future(self.read())
        self.finish(await self.rerun(LOAD_TIMEOUT_MS / 1000), first=True)
        if self.alpha is None:
            raise RuntimeError(f"no slider labelled {ALPHA_LABEL!r}")
        self.load_seconds = time.perf_counter() - t0

    async def move(self, step: int):
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        alpha, options = self.alpha, list(self.alpha.options)
        i = options.index(self.states[alpha.id].string_array_value.data[0]) + step
        value = options[min(max(i, 0), len(options) - 1)]
        self.states[alpha.id] = WidgetState(id=alpha.id)
        self.states[alpha.id].string_array_value.data.append(value)
        if alpha.query_param_key:             # the frontend writes a bound widget's value into the URL
            self.query.pop(alpha.query_param_key, None)
            if [value] != [options[int(j)] for j in alpha.default]:
                self.query[alpha.query_param_key] = [value]
        self.finish(await self.rerun(PRESS_TIMEOUT_MS / 1000, fragment=self.alpha_fragment))

    def fatal(self, exc: Exception) -> bool:
        return self.closed is not None

    async def close(self):
        self.leaving = True
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(BaseException):
                await self.reader

    # -- sending

    async def rerun(self, timeout: float, fragment: str = "") -> Rerun:
        """Send rerun_script with the current state of everything (for the widget's ``fragment``, as the
        frontend does for a widget a fragment drew) and wait for script_finished."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ClientState_pb2 import ClientState

        cs = ClientState(query_string=urlencode(sorted(self.query.items()), doseq=True),
                         page_script_hash=self.page_hash, cached_message_hashes=list(self.cache),
                         fragment_id=fragment)
        cs.widget_states.widgets.extend(self.states.values())    # the first time: present and empty
        cs.context_info.timezone, cs.context_info.timezone_offset, cs.context_info.locale = "UTC", 0, "en-US"
        cs.context_info.url, cs.context_info.is_embedded, cs.context_info.color_scheme = self.url + "/", False, "light"
        cs.widget_states.SetInParent()
        self.sent, self.run = cs, Rerun()
        run = self.run
        if self.closed:
            raise ConnectionError(self.closed)
        await self.ws.send(BackMsg(rerun_script=cs).SerializeToString())
        try:
            await asyncio.wait_for(run.done.wait(), timeout)
        except TimeoutError:
            raise TimeoutError(f"the rerun did not finish in {timeout:.0f} s") from None
        if run.finished_at is None:
            raise ConnectionError(self.closed or "websocket closed")
        return run

    def finish(self, run: Rerun, first: bool = False):
        """A finished rerun: errors for exceptions, a missing or unchanged chart; else its latency."""
        self.errors.extend(f"exception shown on the page: {e}" for e in run.exceptions)
        old, self.chart = self.chart, run.chart
        if run.alpha is not None:
            self.alpha, self.alpha_fragment = run.alpha, run.alpha_fragment
        if run.chart is None:
            raise RuntimeError("the rerun sent no contour chart")
        if not first:
            if run.chart == old:
                raise RuntimeError("the chart did not change")
            self.latencies.append((run.finished_at - run.sent) * 1000)
            self.parts.append((run.chart_at - run.sent) * 1000)

    # -- receiving

    async def read(self):
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in self.ws:
                at = time.perf_counter()
                try:
                    self.receive(raw, at)
                except Exception as exc:  # noqa: BLE001 - a message this client cannot handle
                    self.errors.append(f"could not handle a message: {type(exc).__name__}: {first_line(exc)}")
            reason = "websocket closed by the server"
        except ConnectionClosed as exc:
            reason = f"websocket closed: {exc}"
        if not self.leaving:
            self.closed = reason              # the next (or the waiting) rerun reports it
        if self.run is not None:
            self.run.done.set()

    def receive(self, raw: bytes, at: float):
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        msg = ForwardMsg.FromString(raw)
        if msg.WhichOneof("type") == "ref_hash":     # a large message we said we hold: take it from the cache
            entry = self.cache[msg.ref_hash]
            entry[1] = self.run_count
            metadata, msg = msg.metadata, ForwardMsg.FromString(entry[0])
            msg.metadata.CopyFrom(metadata)
        elif msg.metadata.cacheable and msg.hash:
            fragment = msg.delta.fragment_id if msg.WhichOneof("type") == "delta" else ""
            self.cache.setdefault(msg.hash, [raw, 0, fragment])[1] = self.run_count
        kind, run = msg.WhichOneof("type"), self.run
        if kind == "new_session":
            self.max_age = msg.new_session.config.max_cached_message_age
            self.page_hash = msg.new_session.page_script_hash or self.page_hash
            if run is not None and not run.done.is_set():
                run.restart()
        elif kind == "navigation":
            self.page_hash = msg.navigation.page_script_hash or self.page_hash
        elif kind == "page_info_changed":
            self.query = parse_qs(msg.page_info_changed.query_string, keep_blank_values=True)
        if run is None or not run.started or run.done.is_set():
            return
        if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            self.element(run, msg.delta.new_element, list(msg.metadata.delta_path), at, msg.delta.fragment_id)
        elif kind == "session_event" and msg.session_event.WhichOneof("type") == "script_compilation_exception":
            run.exceptions.append("the script does not compile")
        elif kind == "script_finished":
            if msg.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                return                        # another run follows
            if msg.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:   # forget widgets no longer drawn
                self.states = {k: v for k, v in self.states.items() if k in run.widgets}
            # The cache forgets what was not used for max_age runs; a fragment's run ages only that
            # fragment's messages (the frontend's ForwardMsgCache.incrementRunCount).
            self.run_count += 1
            frags = list(msg.metadata.run.fragment_ids)          # (none: a full run)
            self.cache = {h: e for h, e in self.cache.items()
                          if (frags and e[2] not in frags) or self.run_count - e[1] <= self.max_age}
            run.finished_at = at
            run.done.set()

    def element(self, run: Rerun, el, path: list[int], at: float, fragment: str = ""):
        kind = el.WhichOneof("type")
        if kind == "exception":
            run.exceptions.append(el.exception.message.splitlines()[0][:200] if el.exception.message
                                  else el.exception.type)
        elif kind == "bidi_component" and run.chart is None and path[:1] == [0]:
            data = json.loads(el.bidi_component.json or "{}")
            if data.get("kind") == "layer":   # the main area's first run layer: the moved panel's run
                run.chart, run.chart_at = el.bidi_component.json, at
        elif kind in WIDGETS and getattr(el, kind).id:
            w = getattr(el, kind)
            run.widgets.add(w.id)
            if w.set_value or w.id not in self.states:
                state = widget_state(kind, w)
                if state is not None:
                    self.states[w.id] = state
            if kind == "slider" and run.alpha is None and w.label == ALPHA_LABEL:
                run.alpha, run.alpha_fragment = w, fragment


# ---- phases --------------------------------------------------------------------------------------------

async def run_phase(make_session, n: int, seconds: float, think: float, seed: int, memory: MemorySampler,
                    stagger: float = 2.0, together: bool = False) -> dict:
    """n sessions (``make_session(index, rng)``): all load the page (starting within ``stagger`` seconds),
    then all interact for ``seconds``, each making its first move after a pause of 0–``think`` seconds
    (people who opened a page do not all press a key in the same millisecond), or all at the same
    moment with ``together`` (the worst burst). Returns latencies, errors, CPU and the memory marks."""
    rng = random.Random(seed)
    sessions = [make_session(i, random.Random(rng.random())) for i in range(n)]

    async def opened(s):
        await asyncio.sleep(rng.uniform(0, stagger) if n > 1 else 0)
        try:
            await s.open()
        except Exception as exc:  # noqa: BLE001
            s.errors.append(f"load failed: {type(exc).__name__}: {first_line(exc)}")

    t_load = time.perf_counter()
    cpu_load = memory.cpu()
    await asyncio.gather(*(opened(s) for s in sessions))
    load_all = time.perf_counter() - t_load
    live = [s for s in sessions if s.load_seconds is not None]
    mem_loaded = memory.now()
    cpu_start, own_start, t_start = memory.cpu(), own_cpu_seconds(), time.monotonic()
    deadline = t_start + seconds
    pauses = [0.0 if together or n == 1 else rng.uniform(0, think) for _ in live]
    tasks = [asyncio.ensure_future(s.interact(deadline, think, pause)) for s, pause in zip(live, pauses)]
    await asyncio.gather(*(s.first_done.wait() for s in live))
    mem_warm = memory.now()
    await asyncio.gather(*tasks)
    mem_end = memory.now()
    cpu_end, own_end, t_end = memory.cpu(), own_cpu_seconds(), time.monotonic()
    await asyncio.gather(*(s.close() for s in sessions))
    lat = [v for s in sessions for v in s.latencies]
    return dict(sessions=n, interactions=len(lat), latencies=lat, parts=[v for s in sessions for v in s.parts],
                later=[v for s in sessions for v in s.latencies[1:]],     # without the first moves
                errors=[e for s in sessions for e in s.errors],
                loads=[s.load_seconds for s in live], load_all=load_all,
                server_cpu_load=cpu_start - cpu_load, server_cpu=cpu_end - cpu_start, client_cpu=own_end - own_start,
                wall=t_end - t_start, memory=dict(loaded=mem_loaded, warm=mem_warm, end=mem_end))


# ---- report --------------------------------------------------------------------------------------------

def pct(values, q):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))]


def row(label, r):
    return (f"{label:<24s} {r['sessions']:>8d} {r['interactions']:>12d} {pct(r['latencies'], 50):>8.0f} "
            f"{pct(r['latencies'], 95):>8.0f} {pct(r['parts'], 50):>10.0f} {pct(r['parts'], 95):>10.0f} "
            f"{len(r['errors']):>7d}")


async def main_async(args) -> dict:
    t0 = time.perf_counter()
    with serve("app.py") as url:
        up = time.perf_counter() - t0
        pid = server_pid(urlparse(url).port)
        if pid is None:
            raise RuntimeError("could not find the streamlit process")
        memory = MemorySampler(pid)
        memory.start()
        mem_start = memory.now()
        async with contextlib.AsyncExitStack() as stack:
            if args.driver == "browser":
                from playwright.async_api import async_playwright
                p = await stack.enter_async_context(async_playwright())
                browser = await p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
                stack.push_async_callback(browser.close)
                cls, make = BrowserSession, lambda i, rng: BrowserSession(i, rng, browser, url)
            else:
                assets = page_assets(url)
                cls, make = WsSession, lambda i, rng: WsSession(i, rng, url, assets)
            single = await run_phase(make, 1, args.single_seconds, args.think, 1, memory)
            many = await run_phase(make, args.sessions, args.seconds, args.think, 2, memory,
                                   together=args.together)
        memory.stop()
    part = cls.PART
    mem = [mb for _, mb in memory.samples]
    result = dict(
        driver=args.driver, sessions=args.sessions, seconds=args.seconds, think=args.think, together=args.together,
        server_start_seconds=round(up, 2),
        single=dict(p50=pct(single["latencies"], 50), p95=pct(single["latencies"], 95),
                    **{f"{part}_p50": pct(single["parts"], 50), f"{part}_p95": pct(single["parts"], 95)},
                    interactions=single["interactions"], errors=single["errors"],
                    load=single["loads"][0] if single["loads"] else None),
        many=dict(p50=pct(many["latencies"], 50), p95=pct(many["latencies"], 95),
                  **{f"{part}_p50": pct(many["parts"], 50), f"{part}_p95": pct(many["parts"], 95)},
                  later_p50=pct(many["later"], 50), later_p95=pct(many["later"], 95),
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
                           server_cpu_per_load=round(r["server_cpu_load"] / max(1, len(r["loads"])), 3),
                           client_cpu_busy=round(r["client_cpu"] / max(r["wall"], 1e-9), 3))
    result["ratio_p95"] = result["many"]["p95"] / result["single"]["p95"] if single["latencies"] else None
    result["errors"] = len(single["errors"]) + len(many["errors"])

    print(f"$ python benchmarks/load.py --driver {args.driver} --sessions {args.sessions} --seconds {args.seconds:g} "
          f"--single-seconds {args.single_seconds:g} --think {args.think:g}" + (" --together" if args.together else ""))
    print(f"server up in {up:.1f} s (pid {pid}); {os.cpu_count()} CPUs; load average at the end "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"{'':24s} {'sessions':>8s} {'interactions':>12s} {'p50 ms':>8s} {'p95 ms':>8s} "
          f"{part + ' p50':>10s} {part + ' p95':>10s} {'errors':>7s}")
    print(row("single session (alone)", single))
    print(row(f"{args.sessions} sessions at once", many))
    ratio = result["ratio_p95"]
    print(f"ratio p95({args.sessions}) / p95(1): {ratio:.2f}  (goal ≤ 3)" if ratio else "ratio: n/a")
    if ratio:
        print(f"without each session's first move ({'all at once' if args.together else 'staggered'}): "
              f"p50 {result['many']['later_p50']:.0f} ms, p95 {result['many']['later_p95']:.0f} ms, "
              f"ratio {result['many']['later_p95'] / result['single']['p95']:.2f}")
    for key, label in (("single", "alone"), ("many", f"with {args.sessions}")):
        r = result[key]
        print(f"server CPU {label}: {r['server_cpu_per_interaction'] * 1000:.0f} ms per interaction, "
              f"{r['server_cpu_per_load']:.2f} s per page load; busy {r['server_cpu_busy'] * 100:.0f}% of one core"
              + (f"; this client {r['client_cpu_busy'] * 100:.1f}%" if args.driver == "ws" else ""))
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


# ---- --validate: the ws driver against the browser -------------------------------------------------------

def chart_paths(spec: str) -> list:
    """The path in a run layer's data (the contour chart's element for one run, ``ui/chart.py``) as the
    browser's PATHS gives them: [name, xs, ys]."""
    import numpy as np

    def values(a):                            # Plotly's typed arrays: {"dtype": "f4", "bdata": base64}
        if isinstance(a, dict):
            return np.frombuffer(base64.b64decode(a["bdata"]), dtype=a["dtype"]).astype(float).tolist()
        return [float("nan") if v is None else float(v) for v in a]
    return [[t.get("name"), values(t["x"]), values(t["y"])] for t in json.loads(json.loads(spec)["traces"])
            if (t.get("meta") or {}).get("role") == "path" and t.get("x") is not None]


def same_paths(a: list, b: list) -> bool:
    import numpy as np
    return len(a) == len(b) and all(
        p[0] == q[0] and len(p[1]) == len(q[1]) and np.array_equal(p[1], q[1], equal_nan=True)
        and np.array_equal(p[2], q[2], equal_nan=True) for p, q in zip(a, b))


def compare_requests(ws_cs, browser_cs) -> list[str]:
    """How two rerun_script ClientStates differ (widget states as sets, the rest field by field)."""
    from google.protobuf import text_format
    if browser_cs is None:
        return ["the browser sent no rerun_script"]
    diffs = []
    a = {w.id: w.SerializeToString(deterministic=True) for w in ws_cs.widget_states.widgets}
    b = {w.id: w.SerializeToString(deterministic=True) for w in browser_cs.widget_states.widgets}
    for wid in sorted(a.keys() | b.keys()):
        if a.get(wid) != b.get(wid):
            show = lambda cs: next((text_format.MessageToString(w, as_one_line=True)  # noqa: E731
                                    for w in cs.widget_states.widgets if w.id == wid), "absent")
            diffs.append(f"widget {wid.rsplit('-', 1)[-1]}: ws {show(ws_cs)} / browser {show(browser_cs)}")
    for name in ("query_string", "page_script_hash", "page_name", "fragment_id", "is_auto_rerun", "context_info"):
        if getattr(ws_cs, name) != getattr(browser_cs, name):
            diffs.append(f"{name}: ws {str(getattr(ws_cs, name))!r} / browser {str(getattr(browser_cs, name))!r}")
    if set(ws_cs.cached_message_hashes) != set(browser_cs.cached_message_hashes):
        diffs.append(f"cached hashes: ws {sorted(ws_cs.cached_message_hashes)} / "
                     f"browser {sorted(browser_cs.cached_message_hashes)}")
    return diffs


async def validate(url: str, moves: int = 3 * WALK) -> int:
    """One ws session and one browser session, each from a fresh load through ``moves`` moves of the walk:
    per step the rerun_script they send and the paths on the chart must be the same; and for the ws driver
    the same α must give the same chart JSON, a different α a different one. Prints a table; returns the
    number of problems."""
    from playwright.async_api import async_playwright
    from streamlit.proto.BackMsg_pb2 import BackMsg

    ws = WsSession(0, random.Random(0), url, page_assets(url))
    await ws.open()
    ws_steps = [(ws.sent, ws.chart, None)]
    for i in range(moves):
        await ws.move(walk_step(i))
        ws_steps.append((ws.sent, ws.chart, ws.latencies[-1]))
    await ws.close()

    frames: list = []
    browser_steps = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            b = BrowserSession(0, random.Random(0), browser, url, frames=frames)
            for i in range(-1, moves):
                seen = len(frames)
                await (b.open() if i < 0 else b.move(walk_step(i)))
                await b.page.wait_for_function(IDLE, timeout=PRESS_TIMEOUT_MS, polling=100)
                sent = [m.rerun_script for m in map(BackMsg.FromString, frames[seen:]) if m.HasField("rerun_script")]
                browser_steps.append((sent[-1] if sent else None, len(sent), await b.page.evaluate(PATHS),
                                      b.latencies[-1] if i >= 0 else None))
            await b.close()
        finally:
            await browser.close()

    problems = 0
    print(f"{'step':>4s} {'α':>8s} {'request':>8s} {'paths':>6s} {'ws ms':>7s} {'browser ms':>10s}  differences")
    default = ws.alpha.options[int(ws.alpha.default[0])]      # what the page loads with
    alpha_of = lambda cs: next((w.string_array_value.data[0] for w in cs.widget_states.widgets  # noqa: E731
                                if w.id == ws.alpha.id), default)
    for k, ((ws_cs, spec, ws_ms), (b_cs, n_sent, b_paths, b_ms)) in enumerate(zip(ws_steps, browser_steps)):
        diffs = compare_requests(ws_cs, b_cs) + ([f"the browser sent {n_sent} rerun_script"] if n_sent != 1 else [])
        mine = chart_paths(spec)              # the moved run's path, among all the browser draws
        same = same_paths(mine, [p for p in b_paths if p[0] in {q[0] for q in mine}])
        problems += len(diffs) + (not same)
        print(f"{k:>4d} {alpha_of(ws_cs):>8s} {'same' if not diffs else 'DIFF':>8s} {'same' if same else 'DIFF':>6s} "
              f"{'' if ws_ms is None else f'{ws_ms:.0f}':>7s} {'' if b_ms is None else f'{b_ms:.0f}':>10s}  "
              + "; ".join(diffs))
    charts: dict[str, set] = {}
    for cs, spec, _ in ws_steps:
        charts.setdefault(alpha_of(cs), set()).add(spec)
    repeated = [a for a, specs in charts.items() if len(specs) > 1]
    shared = len({s for specs in charts.values() for s in specs}) < len(charts)
    print(f"ws driver: {len(charts)} values of α, "
          + ("each with one chart" if not repeated else f"SEVERAL charts for {repeated}")
          + ("; a chart shared by two values of α" if shared else "; all charts different"))
    problems += len(repeated) + shared
    print(f"{'no' if not problems else problems} problem(s)")
    return problems


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--driver", choices=("ws", "browser"), default="ws",
                    help="Streamlit's websocket protocol from this process (default), or Chromium contexts")
    ap.add_argument("--sessions", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=60.0, help="interaction time once all sessions have loaded")
    ap.add_argument("--single-seconds", type=float, default=60.0, help="interaction time of the lone baseline session")
    ap.add_argument("--think", type=float, default=5.0,
                    help="mean pause between moves (seconds): a student tries a setting, looks, tries the next")
    ap.add_argument("--quick", action="store_true", help="3 sessions × 10 s (single 5 s): a short check for CI")
    ap.add_argument("--together", action="store_true",
                    help="all sessions make their first move at the same moment (the worst burst)")
    ap.add_argument("--json", help="also write the full result (with memory samples) to this file")
    ap.add_argument("--validate", action="store_true",
                    help="compare the ws driver with the browser on one session, move by move, and exit")
    args = ap.parse_args(argv)
    if args.quick:
        args.sessions, args.seconds, args.single_seconds, args.think = 3, 10.0, 5.0, 0.5
    if (args.driver == "browser" or args.validate) and chromium_path() is None:
        sys.exit("Debian's chromium is needed (apt-get install chromium)")
    if args.validate:
        with serve("app.py") as url:
            sys.exit(1 if asyncio.run(validate(url)) else 0)
    result = asyncio.run(main_async(args))
    sys.exit(1 if result["errors"] else 0)


if __name__ == "__main__":
    main()
