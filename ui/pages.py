"""The two pages: the visualizer (sidebar controls + views) and the lessons gallery."""
from __future__ import annotations

import gc
import logging

import streamlit as st

import surfaces

from . import compute, links, sidebar, views
from . import scene as S

log = logging.getLogger(__name__)
# Loading a lesson sets bound widgets through st.session_state; Streamlit logs (never shows) a warning
# for each such widget that also has a default. That is intended here, so keep the server log quiet.
logging.getLogger("streamlit.elements.lib.policies").setLevel(logging.ERROR)


def _lessons():
    try:
        import lessons
        return lessons
    except ImportError:  # the lessons package is optional for the visualizer
        return None


def extra_values() -> dict:
    les = _lessons()
    return getattr(les, "EXTRA_VALUES", {}) if les else {}


def _titles() -> dict:
    les = _lessons()
    return {l.key: f"{i}. {l.title}" for i, l in enumerate(les.all(), 1)} if les else {}


def load_lesson(key: str):
    """Put a lesson's scene into the controls (a callback: runs before the widgets are drawn, so the
    bound widgets write the whole scene into the URL)."""
    les = _lessons()
    if not les or not key:
        return
    current = [k for k in st.session_state.keys() if isinstance(k, str)]
    for k, v in S.lesson_state(les.get(key).scene, current).items():
        st.session_state[k] = v
    st.session_state["lesson"] = key


def lesson_query(key: str, overrides=None) -> dict[str, list[str]]:
    """The canonical link of a lesson's scene: what its bound widgets would write into the URL."""
    values = {**S.lesson_state(_lessons().get(key).scene), "lesson": key}
    titles = _titles()
    query = {k: sidebar.url_values(k, v, titles) for k, v in values.items() if v != S.default(k)}
    query.update(overrides or {})
    return query


def _on_lesson_change():
    load_lesson(st.session_state.get("lesson", ""))


def lesson_picker():
    les = _lessons()
    if not les:
        return None
    keys = [""] + [l.key for l in les.all()]
    titles = _titles()
    st.selectbox("Lesson", keys, key="lesson", format_func=lambda k: titles.get(k, "— free exploration —"),
                 on_change=_on_lesson_change, bind="query-params")
    key = st.session_state.get("lesson") or ""
    return les.get(key) if key else None


@st.cache_data(max_entries=32, show_spinner=False)
def _check(key: str):
    les = _lessons()
    try:
        return bool(les.get(key).check()), ""
    except Exception as exc:  # the reason is shown to the reader
        return False, str(exc)[:300]


def lesson_panel(lesson):
    with st.container(border=True):
        st.markdown(f"### {lesson.title}")
        st.markdown(f"**Claim.** {lesson.claim}")
        with st.expander("Explanation", expanded=True):
            st.markdown(lesson.explanation)
            st.markdown(f"**Look at:** {lesson.look_at}")
        ok, why = _check(lesson.key)
        if ok:
            st.success("Checked numerically with the same core that draws the figure: the claim holds.",
                       icon=":material/check_circle:")
        else:
            st.warning(f"The numeric check did not pass: {links.excerpt(why)}")


def _first_run_of_session():
    """On a session's first run, remember the link as sent (to report what was ignored). A link that
    names choices by key (?surface=bowl, ?lesson=bias-correction, as people type them) is rewritten to
    the canonical link (labels, and a lesson's whole scene with the link's own settings on top) by
    switching to this page with that query, so the URL always holds the whole scene."""
    if "_link" in st.session_state:
        return
    sent = {k: st.query_params.get_all(k) for k in st.query_params.keys()}
    st.session_state["_link"] = sent
    query, rewrite = dict(sent), False
    for key, (keys, label) in sidebar.LABELLED.items():
        values = sent.get(key, [])
        if values and all(v in keys() for v in values):
            query[key] = [label(v) for v in values]
            rewrite = True
    les = _lessons()
    lesson = (sent.get("lesson") or [""])[0]
    if les and lesson in les.keys():
        query = lesson_query(lesson, overrides={k: v for k, v in query.items() if k != "lesson"})
        rewrite = True
    if rewrite:
        st.session_state["_link"] = {k: v for k, v in query.items()}
        st.switch_page(PAGES["visualizer"], query_params=query)


def _report_link():
    sent = st.session_state.get("_link")
    if sent is None or st.session_state.get("_link_reported"):
        return
    st.session_state["_link_reported"] = True
    taken = {k: st.query_params.get_all(k) for k in st.query_params.keys()}
    for msg in links.notices(sent, taken, S.known_keys()):
        st.toast(msg, icon=":material/link_off:")
        st.session_state.setdefault("_notices", []).append(msg)


def projector() -> bool:
    """Projector mode: the toggle's value, or on a session's first run, before the toggle (at the foot
    of the sidebar) exists, the link's."""
    if "projector" in st.session_state:
        return bool(st.session_state["projector"])
    return st.query_params.get("projector") == "true"


def _style():
    from plots.style import Style
    dark = getattr(st.context.theme, "type", None) == "dark"
    return Style(dark=dark, projector=projector())


# Shown while a typed formula (or its domain) is refused and no earlier one worked: over the default
# domain, since the typed domain may be what was refused.
FALLBACK = S.SurfaceSpec("custom", formula="x^2 + y^2", domain=None)


def _surface(spec):
    """The scene's surface; a bad formula shows its message in place and the last good one is kept."""
    try:
        surf = compute.surface(spec)
        if spec.name == "custom":
            st.session_state["_last_good_formula"] = spec
        return surf, None
    except surfaces.ExpressionError as exc:
        fallback = st.session_state.get("_last_good_formula") or FALLBACK
        return compute.surface(fallback), str(exc)


def _scene_surface():
    """The scene's surface spec and Surface; a refused formula falls back to the last good one."""
    spec = S.surface_spec(st.session_state)
    surf, error = _surface(spec)
    if error:
        spec = st.session_state.get("_last_good_formula") or FALLBACK
    return spec, surf, error


def run_view(inst: str):
    """(RunView, Surface, Style) of the optimizer instance ``inst`` in the scene the widgets describe now
    (for its panel, rerun on its own); None if the scene has no such run."""
    from plots.style import PALETTE
    spec, surf, _ = _scene_surface()
    scene = S.build_scene(st.session_state, surf.start, PALETTE, spec)
    mine = tuple(r for r in scene.runs if r.key == inst)
    if not mine:
        return None
    return compute.views(S.Scene(**{**scene.__dict__, "runs": mine}))[0], surf, _style()


# Steps × starts × runs above which computing a scene shows a spinner (below it the cached or compiled
# runs take milliseconds, and a spinner would cost every rerun a redraw of the page).
SPINNER_WORK = 2_000_000


def _main_area(frame):
    """The lesson (if any) and the open view, for the scene the controls' values describe."""
    if projector():
        # Streamlit sizes its whole interface in rem: a larger root font enlarges every control and text
        # for the back row of a classroom; the charts scale through Style(projector=True).
        # The sidebar's formula is scaled back (it would be wider than the sidebar) and scrolls if still so.
        frame.top.markdown("<style>html { font-size: 22px; } [data-testid='stSidebar'] .katex-display "
                           "{ font-size: 0.75em; overflow-x: auto; overflow-y: hidden; }</style>",
                           unsafe_allow_html=True)
    from plots.style import PALETTE
    spec, surf, _ = _scene_surface()
    scene = S.build_scene(st.session_state, surf.start, PALETTE, spec)
    les, key = _lessons(), st.session_state.get("lesson") or ""
    if les and key in les.keys():
        with frame.top:
            lesson_panel(les.get(key))
    if not scene.runs:
        frame.top.info("Choose at least one optimizer in the sidebar.")
        return
    if len(scene.runs) * len(scene.start_points()) * scene.steps > SPINNER_WORK:
        with frame.top, st.spinner("Running the optimizers…"):
            runs = compute.views(scene)
    else:
        runs = compute.views(scene)
    views.render(frame, surf, compute.grid(spec), runs, _style(), bands=lambda: compute.bands(scene))


def visualizer():
    _first_run_of_session()
    # The panels of the optimizers are fragments (ui.sidebar): moving one of their sliders reruns that
    # panel alone, which redraws its own run on the chart. They tell a full run from their own by this
    # flag, and a layer from before the last full run by its number.
    st.session_state["_gen"] = st.session_state.get("_gen", 0) + 1
    st.session_state["_full_run"] = True
    try:
        _visualizer()
    finally:
        st.session_state["_full_run"] = False
    _freeze_once()


def _visualizer():
    # On a rerun every control's value is already in the session state, so the main area (what the
    # person waits for) is drawn first and the sidebar's ~60 widgets after it. A session's first run
    # creates the widgets first, since their values come from the link only when they are created. The
    # main area's containers come first either way: the panels write into them.
    ready = all(k in st.session_state for k in ("surface", "opt", "x0", "y0", "steps"))
    with st.container():
        frame = views.frame(st.session_state["_gen"])
    if ready:
        _main_area(frame)
    with st.sidebar:
        lesson_picker()
        st.header("Surface", divider="gray")
        sidebar.surface_controls()
        _, surf, error = _scene_surface()
        if error:
            st.error(error, icon=":material/error:")
        st.latex(surf.latex if len(surf.latex) < 400 else surf.latex[:400] + r"\ldots")
        if surf.note:
            st.caption(surf.note)
        st.header("Optimizers", divider="gray")
        sidebar.optimizer_controls(extra_values(), frame.sink, run_view)
        st.header("Start and run", divider="gray")
        sidebar.start_controls(surf.start)
        sidebar.run_controls()
        st.header("Display", divider="gray")
        st.toggle("Projector mode (large fonts)", False, key="projector", bind="query-params")
    _report_link()
    if not ready:
        _main_area(frame)


_frozen = False


def _freeze_once():
    """After this process's first full run, move every object then alive (modules, SymPy expressions,
    Plotly's validators, the caches: ~1.5 M objects) to the permanent generation, so that Python's full
    collections, which a rerun's allocations trigger from time to time, scan only what later runs create
    (a full collection of everything costs ~75 ms, measured)."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.collect()
        gc.freeze()


def lessons_gallery():
    les = _lessons()
    st.title("Lessons")
    if not les:
        st.info("The lessons are not installed.")
        return
    st.markdown("Each lesson sets up a scene in the visualizer with one click. Its claim is checked "
                "numerically by the same code that draws it. Change any setting afterwards and see what happens.")
    for i, lesson in enumerate(les.all(), 1):
        with st.container(border=True):
            c1, c2 = st.columns([5, 1], vertical_alignment="center")
            c1.markdown(f"**{i}. {lesson.title}** — {lesson.claim}")
            if c2.button("Open", key=f"open_{lesson.key}", type="primary"):
                st.switch_page(PAGES["visualizer"], query_params=lesson_query(lesson.key))


PAGES: dict = {}


def safely(page):
    """Run a page; an unexpected error becomes a short message, never a traceback in the page."""
    def wrapped():
        try:
            page()
        except Exception as exc:  # noqa: BLE001 - the last line of defence for the page
            if type(exc).__name__ in ("RerunException", "StopException"):
                raise
            log.exception("page error")
            st.error("Something went wrong while drawing this scene. Try other settings, or reload the "
                     f"page. ({type(exc).__name__})", icon=":material/error:")
    wrapped.__name__ = page.__name__
    return wrapped
