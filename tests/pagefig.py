"""The figures a page shows, read from an AppTest: every ``st.plotly_chart``, and the contour chart
(``ui.chart``: a base element and the layers after it) put together as the browser draws it."""
import json

from ui import chart


def chart_payloads(at) -> list[dict]:
    """The data of the contour chart's elements (base, then layers), in page order."""
    return [json.loads(e.proto.json) for e in at.get("bidi_component")
            if e.proto.component_name == "optimizer_contour"]


def figures(at) -> list[dict]:
    out = []
    payloads = chart_payloads(at)
    if payloads:
        out.append(chart.figure_of(payloads))
    return out + [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
