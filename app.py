"""Optimizer trajectories, interactively: `streamlit run app.py`."""
import streamlit as st

from ui import maps, pages

st.set_page_config(page_title="Optimizer trajectories", page_icon=":material/route:", layout="wide")
pages.PAGES["visualizer"] = st.Page(pages.safely(pages.visualizer), title="Visualizer", icon=":material/route:",
                                    default=True)
pages.PAGES["lessons"] = st.Page(pages.safely(pages.lessons_gallery), title="Lessons", icon=":material/school:",
                                 url_path="lessons")
pages.PAGES["maps"] = st.Page(pages.safely(maps.maps_page), title="Maps", icon=":material/grid_on:",
                              url_path="maps")
st.navigation(list(pages.PAGES.values()), position="top").run()
