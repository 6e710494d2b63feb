"""The Streamlit side of a session's hyperparameter search: one `GridSession` per browser session.

`st.cache_resource(scope="session", on_release=...)` makes it on the session's first visit to the page and closes it
(stops the search, joins its thread) when the session ends — tab closed, websocket dropped, or the cache cleared.
The plain logic is in grid_view.py.
"""
from __future__ import annotations

import streamlit as st

from .grid_view import GridSession


def _release(grid: GridSession) -> None:
    """on_release: may run outside the script thread, so it makes no Streamlit call."""
    grid.close()


@st.cache_resource(scope="session", on_release=_release, show_spinner=False)
def get_grid() -> GridSession:
    return GridSession()
