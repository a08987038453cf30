"""Streamlit glue for the page: widgets → a frozen Scene → cached runs → figures from plots/.

Only ``sidebar``, ``views``, ``compute``, ``exports`` and the pages import streamlit; ``options``,
``scene`` and ``links`` are pure, so they are tested without a browser.
"""
