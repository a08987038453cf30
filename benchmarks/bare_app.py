"""The reference page of the latency benchmark: one slider, one 200×200 contour, one path."""
import numpy as np
import plotly.graph_objects as go
import streamlit as st

xs, ys = np.linspace(-2, 2, 200), np.linspace(-1, 3, 200)
X, Y = np.meshgrid(xs, ys)
Z = (1 - X) ** 2 + 100 * (Y - X**2) ** 2
lr = st.select_slider("lr", options=[round(1e-4 * k, 6) for k in range(1, 40)], value=1e-3)
p = np.array([-1.5, 2.5])
path = [p]
for _ in range(500):
    g = np.array([-2 * (1 - p[0]) - 400 * p[0] * (p[1] - p[0] ** 2), 200 * (p[1] - p[0] ** 2)])
    p = p - lr * g
    path.append(p)
path = np.array(path)
fig = go.Figure([go.Contour(x=xs, y=ys, z=np.log10(Z + 1e-3)), go.Scatter(x=path[:, 0], y=path[:, 1], name="GD")])
st.plotly_chart(fig, theme=None)
