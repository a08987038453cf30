"""The page driven headlessly through Streamlit's AppTest: every surface, every optimizer, every view,
custom formulas good and bad, duplicated optimizers, links (good, stale and crafted) and exports."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import optimizers
import surfaces
from pagefig import figures
from ui import options as O

TIMEOUT = 60
APP = str(Path(__file__).resolve().parent.parent / "app.py")


def app(**params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in params.items():
        at.query_params[k] = v
    return at.run()


def ok(at):
    assert not at.exception, [e.value for e in at.exception]
    assert not [e for e in at.error if "Something went wrong" in e.value]


def test_default_page_draws_the_contour_with_the_four_default_optimizers():
    at = app()
    ok(at)
    fig = figures(at)[0]
    names = {t.get("name") for t in fig["data"]}
    for label in ("SGD", "Momentum", "RMSprop", "Adam"):
        assert any(n and label in n for n in names), (label, names)
    assert any(t["type"] == "contour" for t in fig["data"])


@pytest.mark.parametrize("name", surfaces.names() + ["custom"])
def test_every_surface(name):
    at = app(surface=name)
    ok(at)
    assert at.selectbox(key="surface").value == name
    assert figures(at)


@pytest.mark.parametrize("name", optimizers.names())
def test_every_optimizer(name):
    at = app(opt=[name])
    ok(at)
    fig = figures(at)[0]
    label = optimizers.variant(name).label
    assert any(t.get("name") and label in t["name"] for t in fig["data"])


@pytest.mark.parametrize("view", O.VIEWS)
def test_every_view_with_an_adam_family_member(view):
    at = app(view=view, opt=["sgd", "adam", "nadam"], steps="60")
    ok(at)


def test_a_good_custom_formula_is_drawn_and_a_bad_one_is_explained_in_place():
    at = app(surface="custom", formula="(1-x)^2 + 100*(y-x^2)^2")
    ok(at)
    assert not at.error
    at.text_input(key="formula").set_value("x**").run()
    ok(at)
    assert any("incomplete" in e.value for e in at.error), [e.value for e in at.error]
    assert figures(at), "the last good scene stays on screen"
    at.text_input(key="formula").set_value("__import__('os').system('echo hi')").run()
    ok(at)
    assert at.error


def test_the_same_optimizer_twice_with_different_settings():
    at = app(opt=["adam", "adam-2"])
    at.toggle(key="adam-2.bias_correction").set_value(False).run()
    ok(at)
    fig = figures(at)[0]
    paths = [t for t in fig["data"] if t.get("name") in ("Adam", "Adam #2")]
    assert len({t["name"] for t in paths}) == 2
    assert len({t["line"]["color"] for t in paths if "line" in t}) == 2


def test_a_link_restores_the_scene():
    at = app(surface="himmelblau", opt=["adam", "lion"], **{"adam.lr": "0.1", "lion.beta1": "0.5"},
             x0="1.5", y0="-2", steps="300", noise="0.1", seed="7")
    ok(at)
    assert at.selectbox(key="surface").value == "himmelblau"
    assert at.multiselect(key="opt").value == ["adam", "lion"]
    assert at.select_slider(key="adam.lr").value == 0.1
    assert at.select_slider(key="lion.beta1").value == 0.5
    assert at.number_input(key="x0").value == 1.5 and at.number_input(key="y0").value == -2
    assert at.number_input(key="steps").value == 300 and at.number_input(key="seed").value == 7


@pytest.mark.parametrize("params", [
    {"surface": "<script>alert(1)</script>"}, {"surface": "../../etc/passwd"}, {"opt": ["adma", "sgd"]},
    {"adam.lr": "abc"}, {"adam.lr": "nan"}, {"steps": "-5"}, {"steps": "1e999"}, {"x0": "inf"},
    {"noise": "1e300"}, {"foo": "<img src=x onerror=alert(1)>"}, {"view": "Nope"}, {"lesson": "nope"},
    {"formula": "__import__('os')", "surface": "custom"},
])
def test_crafted_or_stale_links_give_defaults_and_a_notice_never_a_traceback(params):
    at = app(**params)
    ok(at)
    assert figures(at)
    shown = " ".join(str(el.value) for el in list(at.markdown) + list(at.caption) + list(at.error))
    assert "<script>" not in shown and "onerror" not in shown


def test_export_buttons_are_offered():
    at = app(view="Export", steps="40")
    ok(at)
    labels = [b.proto.label for b in at.get("download_button")]
    assert any("CSV" in l for l in labels) and any("HTML" in l for l in labels) and any("GIF" in l for l in labels)


def test_panel_titles_show_the_value_a_link_set():
    """Labels always equal values, also on the first run from a link (widgets seed from the URL only
    when created, after the panel's title is drawn)."""
    at = app(**{"sgd.lr": "0.05"})
    ok(at)
    assert at.select_slider(key="sgd.lr").value == 0.05
    assert any("SGD — α = 0.05" in e.label for e in at.expander), [e.label for e in at.expander]


def test_noise_seeds_are_drawn_as_a_band():
    at = app(noise="1", bands="20", view="Curves", opt=["sgd"])
    ok(at)
    names = [t.get("name") for t in figures(at)[0]["data"]]
    assert "SGD: 10–90 % of 20 seeds" in names


@pytest.mark.parametrize("key", __import__("lessons").keys())
def test_every_lesson_opens_with_its_scene_and_a_passing_check(key):
    import lessons
    lesson = lessons.get(key)
    at = app(lesson=key)
    ok(at)
    assert any(lesson.title in m.value for m in at.markdown)
    assert any("the claim holds" in s.value for s in at.success), [w.value for w in at.warning]
    assert at.selectbox(key="surface").value == lesson.scene["surface"]
    assert len(at.multiselect(key="opt").value) == len(lesson.scene["runs"])


def test_a_projector_link_draws_projector_sized_runs_on_the_first_run():
    """The runs are drawn by the optimizer panels, before the projector toggle (at the foot of the
    sidebar) exists on a session's first run: the link's value decides their size then too."""
    from plots.style import Style
    widths = {}
    for flag in ("false", "true"):
        at = app(projector=flag)
        ok(at)
        paths = [t for t in figures(at)[0]["data"] if (t.get("meta") or {}).get("role") == "path"]
        widths[flag] = {t["line"]["width"] for t in paths}
    assert widths == {"false": {Style(projector=False).line_width}, "true": {Style(projector=True).line_width}}


def test_without_plotly_js_in_static_the_page_falls_back_to_st_plotly_chart(monkeypatch):
    """If plotly.js cannot be copied into static/ (a read-only folder), the contour is an st.plotly_chart
    with its clickable grid, and the read-out is drawn by the main area."""
    from ui import chart
    monkeypatch.setattr(chart, "available", lambda: False)
    at = app()
    ok(at)
    assert not at.get("bidi_component")
    fig = figures(at)[0]
    roles = {(t.get("meta") or {}).get("role") for t in fig["data"]}
    assert {"contour", "click", "path"} <= roles
    assert sum("**SGD**" in m.value for m in at.markdown) == 1
