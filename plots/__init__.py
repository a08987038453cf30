"""Plotly figures of optimizer runs on 2-D loss surfaces: pure functions, no Streamlit.

Every builder takes plain data — a ``surfaces.Surface``, its grid ``surface.grid(n)``, a list of
:class:`RunView` — and a :class:`Style`, and returns a ``plotly.graph_objects.Figure``::

    import optimizers, surfaces, plots
    s = surfaces.get("rosenbrock")
    trajs = [optimizers.run(optimizers.get(n, lr=lr), s, s.start, 500, record_internals=True)
             for n, lr in (("momentum", 1e-3), ("adam", 0.05))]
    runs = plots.from_trajectories(trajs)          # keys "momentum-1", labels "Adam #1", palette colours
    plots.contour_figure(s, s.grid(150), runs, plots.Style(dark=True)).show()
"""
from .animation import animation_figure
from .contour import contour_figure, contour_trace
from .curves import distance_figure, internals_figure, loss_figure, lr_eff_figure, moments_figure, step_figure
from .data import RunView, from_trajectories
from .export import ExportUnavailable, animation_gif, figure_html, figure_png, trajectories_csv
from .inspector import inspector_figure, step_latex
from .levels import Levels, levels_for
from .multiples import small_multiples_figure
from .style import CONTOUR_SCALE, PALETTE, Style
from .summary import summary_rows
from .surface3d import surface3d_figure

__all__ = [
    "RunView", "from_trajectories", "Style", "PALETTE", "CONTOUR_SCALE", "Levels", "levels_for",
    "contour_figure", "contour_trace", "animation_figure", "surface3d_figure", "loss_figure",
    "distance_figure", "step_figure", "lr_eff_figure", "moments_figure", "internals_figure",
    "small_multiples_figure", "inspector_figure", "step_latex", "summary_rows", "trajectories_csv",
    "figure_html", "figure_png", "animation_gif", "ExportUnavailable",
]
