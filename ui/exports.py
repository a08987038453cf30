"""Downloads: each file is built only when its button is clicked (``data=`` is a callable)."""
from __future__ import annotations

import streamlit as st

from plots import animation, contour, export


def render(surface, grid, runs, style):
    st.markdown("Each file is made when you click its button.")
    c1, c2 = st.columns(2)
    c1.download_button("Trajectories and internals (CSV)", data=lambda: export.trajectories_csv(runs),
                       file_name="trajectories.csv", mime="text/csv", on_click="ignore")
    c2.download_button("Animated figure (standalone HTML, plays offline)",
                       data=lambda: export.figure_html(animation.animation_figure(surface, grid, runs, style)),
                       file_name="animation.html", mime="text/html", on_click="ignore")
    c1.download_button("Animated GIF", data=lambda: export.animation_gif(surface, grid, runs, style),
                       file_name="animation.gif", mime="image/gif", on_click="ignore")
    if export.png_available():
        c2.download_button("Contour chart (PNG)", data=lambda: export.figure_png(
            contour.contour_figure(surface, grid, runs, style, click_grid=False)),
            file_name="contour.png", mime="image/png", on_click="ignore")
    else:
        c2.info(export.PNG_UNAVAILABLE)
