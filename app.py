"""Optimizer trajectories, interactively: `streamlit run app.py`."""
import streamlit as st

from ui import pages

st.set_page_config(page_title="Optimizer trajectories", page_icon=":material/route:", layout="wide")
pages.PAGES["visualizer"] = st.Page(pages.safely(pages.visualizer), title="Visualizer", icon=":material/route:",
                                    default=True)
pages.PAGES["lessons"] = st.Page(pages.safely(pages.lessons_gallery), title="Lessons", icon=":material/school:",
                                 url_path="lessons")
st.navigation(list(pages.PAGES.values()), position="top").run()
