"""The page in a real browser (Debian's Chromium through Playwright), served on 127.0.0.1.

Covers what AppTest cannot: the page loads with no exception, a slider redraws the chart, Play moves
the markers while the surface stays, a click on the chart sets the start, a copied URL restores the
scene, lessons open in one click, and screenshots at desktop and projector sizes (saved under
artifacts/ for a person to look at).
"""
import pytest

from browser import ARTIFACTS, browser, require_browser, serve, wait_for_app, wait_idle

pytestmark = pytest.mark.browser

# The runs' paths, drawn on the contour chart's upper graph (ui/chart.js).
PATH_SIG = """() => { const gd = document.querySelector('.opt-chart-upper');
  return JSON.stringify(gd.data.filter(t => t.meta && t.meta.role === 'path')
      .map(t => Array.from(t.x).slice(-2))); }"""
CHART = "window.__optimizerCharts.contour_chart"


def wait_chart(page):
    """Until the upper graph shows a path for every run of the chart."""
    page.wait_for_function(f"""() => {{ const gd = document.querySelector('.opt-chart-upper');
        return gd && gd._fullData && gd._fullData.filter(t => t.meta && t.meta.role === 'path').length
               === {CHART}.order.length; }}""", timeout=30_000)


@pytest.fixture(scope="module")
def site():
    require_browser()
    ARTIFACTS.mkdir(exist_ok=True)
    with serve() as url, browser() as b:
        yield url, b


def open_page(site, query="", size=(1440, 900), scheme="light"):
    url, b = site
    ctx = b.new_context(viewport={"width": size[0], "height": size[1]}, color_scheme=scheme)
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url + "/" + query)
    wait_for_app(page)
    return ctx, page, errors


def no_exception(page, errors):
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "Something went wrong" not in page.content()
    # Pause interrupts Plotly.animate, whose promise plotly.js's own updatemenu leaves unhandled; it
    # rejects with `undefined`. Any other page error fails the test.
    assert not [e for e in errors if e != "undefined"], errors


def alpha_slider(page, label="α (learning rate)"):
    return page.locator('[data-testid="stSlider"]', has_text=label).first.get_by_role("slider")


def test_the_page_loads_with_no_exception_and_a_screenshot_at_desktop_size(site):
    ctx, page, errors = open_page(site)
    no_exception(page, errors)
    assert page.locator('.opt-chart-lower .contourlayer path').count() > 0
    assert page.evaluate(f"{CHART}.order.length") == 4
    page.screenshot(path=str(ARTIFACTS / "desktop.png"))
    ctx.close()


def test_projector_mode_screenshot(site):
    ctx, page, errors = open_page(site, "?projector=true", size=(1920, 1080))
    no_exception(page, errors)
    root = page.evaluate("getComputedStyle(document.documentElement).fontSize")
    assert root == "22px"
    page.screenshot(path=str(ARTIFACTS / "projector.png"))
    ctx.close()


def test_a_slider_changes_the_chart_by_rerunning_its_panel_only(site):
    """An optimizer's α is in its panel's fragment: the press redraws that run on the chart (its layer)
    and its read-out line, without a full run of the page (the chart's base stays the same one)."""
    ctx, page, errors = open_page(site, "?surface=booth")
    wait_chart(page)
    before, gen = page.evaluate(PATH_SIG), page.evaluate(f"{CHART}.gen")
    readout = page.locator('[data-testid="stMarkdown"]', has_text="SGD —").first.inner_text()
    slider = alpha_slider(page)
    slider.focus()
    slider.press("ArrowRight")
    page.wait_for_function(f"() => ({PATH_SIG})() !== {before!r}", timeout=30_000)
    wait_idle(page)
    assert page.evaluate(f"{CHART}.gen") == gen, "a full rerun of the page"
    assert page.locator('[data-testid="stMarkdown"]', has_text="SGD —").first.inner_text() != readout
    assert "sgd.lr=" in page.url
    no_exception(page, errors)
    ctx.close()


def test_legend_clicks_hide_a_run_and_a_zoom_keeps_the_two_graphs_aligned(site):
    ctx, page, errors = open_page(site, "?surface=rosenbrock")
    wait_chart(page)
    paths = "() => document.querySelectorAll('.opt-chart-upper .scatterlayer .trace').length"
    n = page.evaluate(paths)
    page.locator(".opt-chart-upper .legend .traces").nth(1).click()
    page.wait_for_function(f"() => ({paths})() < {n}", timeout=10_000)
    assert page.evaluate(f"Array.from({CHART}.hidden)") == ["momentum"]
    page.wait_for_timeout(600)                     # (two clicks within 300 ms are Plotly's double click)
    page.locator(".opt-chart-upper .legend .traces").nth(1).click()
    page.wait_for_function(f"() => ({paths})() === {n}", timeout=10_000)
    box = page.locator(".opt-chart-upper .nsewdrag").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.3)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.6, steps=5)
    page.mouse.up()
    page.wait_for_timeout(800)
    ranges = """(cls) => { const fl = document.querySelector(cls)._fullLayout;
        return [fl.xaxis.range, fl.yaxis.range, fl._size.l, fl._size.t, fl._size.w, fl._size.h]; }"""
    lower, upper = page.evaluate(ranges, ".opt-chart-lower"), page.evaluate(ranges, ".opt-chart-upper")
    assert lower == upper and lower[0][1] - lower[0][0] < 2, (lower, upper)    # zoomed in, both alike
    no_exception(page, errors)
    ctx.close()


def test_play_moves_the_markers_while_the_surface_stays(site):
    ctx, page, errors = open_page(site, "?view=Animation")
    where = """() => Array.from(document.querySelectorAll('[data-testid="stPlotlyChart"] .scatterlayer .trace'))
        .map(t => Array.from(t.querySelectorAll('path.point')).map(p => p.getAttribute('transform')).join(';'))"""
    before = page.evaluate(where)
    page.locator(".updatemenu-button", has_text="Play").click()
    page.wait_for_timeout(1500)
    page.locator(".updatemenu-button", has_text="Pause").click()
    after = page.evaluate(where)
    step = page.evaluate("document.querySelector('.slider-label').textContent")
    assert before != after, "the markers moved"
    assert step.split()[-1] != "0"
    assert page.evaluate("document.querySelectorAll('[data-testid=\"stPlotlyChart\"] .imagelayer image').length") == 1
    no_exception(page, errors)
    ctx.close()


def test_a_click_on_the_chart_sets_the_start(site):
    ctx, page, errors = open_page(site, "?surface=booth")
    x0 = page.locator('[data-testid="stNumberInput"]', has_text="x₀").locator("input")
    before = x0.input_value()
    box = page.locator('.opt-chart-upper .nsewdrag').first.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.25)
    page.wait_for_function("""(before) => { const el = Array.from(document.querySelectorAll('[data-testid="stNumberInput"]'))
        .find(e => e.textContent.includes('x₀')); return el && el.querySelector('input').value !== before; }""",
                           arg=before, timeout=30_000)
    wait_idle(page)
    x, y = float(x0.input_value()), float(page.locator('[data-testid="stNumberInput"]', has_text="y₀")
                                          .locator("input").input_value())
    assert 3 < x < 10 and 0 < y < 10, (x, y)      # Booth's domain is [-10, 10]²: upper right quarter
    no_exception(page, errors)
    ctx.close()


def test_a_copied_url_restores_the_scene(site):
    ctx, page, errors = open_page(site, "?surface=himmelblau")
    slider = alpha_slider(page)
    slider.focus()
    for _ in range(3):
        slider.press("ArrowRight")
        wait_idle(page)
    page.wait_for_function("() => location.search.includes('sgd.lr')", timeout=30_000)
    link = page.url
    sig = page.evaluate(PATH_SIG)
    value = slider.get_attribute("aria-valuetext") or slider.get_attribute("aria-valuenow")
    ctx.close()
    url, b = site
    ctx2 = b.new_context(viewport={"width": 1440, "height": 900})
    page2 = ctx2.new_page()
    page2.goto(link)
    wait_for_app(page2)
    assert page2.evaluate(PATH_SIG) == sig
    s2 = alpha_slider(page2)
    assert (s2.get_attribute("aria-valuetext") or s2.get_attribute("aria-valuenow")) == value
    assert "surface=Himmelblau" in link                 # ?surface=himmelblau was rewritten to the label
    ctx2.close()


def test_two_lessons_open_in_one_click_with_screenshots(site):
    ctx, page, errors = open_page(site)
    page.get_by_role("link", name="Lessons").click()
    page.wait_for_selector("text=Bias correction")
    page.get_by_role("button", name="Open").first.click()
    page.wait_for_selector("text=Checked numerically", timeout=60_000)
    wait_for_app(page)
    assert "lesson=" in page.url
    no_exception(page, errors)
    page.screenshot(path=str(ARTIFACTS / "lesson-1.png"), full_page=True)
    ctx.close()
    ctx, page, errors = open_page(site, "?lesson=amsgrad-reddi")
    page.wait_for_selector("text=Checked numerically", timeout=60_000)
    no_exception(page, errors)
    page.screenshot(path=str(ARTIFACTS / "lesson-11.png"), full_page=True)
    ctx.close()
