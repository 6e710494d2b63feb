"""MLP LM Explorer: the Streamlit app around `mlp_lm` (run it with `streamlit run explorer/app.py`).

Plain modules hold the logic (settings, holder, series, charts, projections); `session`, `sidebar`, `live` and the
pages in `app_pages/` are the thin Streamlit layer. No module here starts a thread: `mlp_lm.trainer.Trainer` does.
"""
