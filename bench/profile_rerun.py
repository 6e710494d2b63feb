"""Where a rerun's time goes: each page's script time (Streamlit's AppTest, no browser) while a lecture run trains —
the whole rerun, the sidebar and the page body — and optionally a cProfile of the page bodies (taken in the script
thread, the whole script) listing the explorer's, plotly's and Streamlit's functions by cumulative time. "rerun" is
AppTest's whole round trip; "script" the script thread's part of it, and the CPU time that thread used (what a busy
machine does not inflate: compare those).

    python bench/profile_rerun.py [--reruns 5] [--pages train,sampler,...] [--profile] [--top 25]

A page is opened once (its first run imports and warms caches), then rerun `--reruns` times; the median is printed.
"tsne" is the Embeddings page in its t-SNE view, each timed rerun at a new perplexity. On the Sampler page names are generated and two characters stepped first; the timed reruns draw its Generate tab.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

PAGES = {"train": "app_pages/train.py", "sweep": "app_pages/sweep.py", "embeddings": "app_pages/embeddings.py",
         "sampler": "app_pages/sampler.py", "data": "app_pages/data.py", "forward": "app_pages/forward.py",
         "runs": "app_pages/runs.py", "tsne": "app_pages/embeddings.py"}  # tsne: each rerun a new perplexity


class Sections:
    """Times (and optionally profiles) the sidebar and the page body inside the script thread."""

    def __init__(self, profile: bool):
        from streamlit.navigation.page import StreamlitPage

        from explorer import sidebar
        from streamlit.runtime.scriptrunner import script_runner
        self.times: dict[str, list[float]] = {"script": [], "script cpu": [], "sidebar": [], "page": []}
        self.prof = cProfile.Profile() if profile else None
        self.on = False
        draw, run, script = sidebar.draw, StreamlitPage.run, script_runner.exec_func_with_error_handling

        def timed_script(*a, **k):
            t0, c0 = time.perf_counter(), time.thread_time()
            if self.on and self.prof:
                self.prof.enable()
            try:
                return script(*a, **k)
            finally:
                if self.on and self.prof:
                    self.prof.disable()
                if self.on:
                    self.times["script"].append(time.perf_counter() - t0)
                    self.times["script cpu"].append(time.thread_time() - c0)

        def timed_draw(*a, **k):
            t0 = time.perf_counter()
            try:
                return draw(*a, **k)
            finally:
                if self.on:
                    self.times["sidebar"].append(time.perf_counter() - t0)

        def timed_run(page):
            t0 = time.perf_counter()
            try:
                return run(page)
            finally:
                if self.on:
                    self.times["page"].append(time.perf_counter() - t0)

        sidebar.draw, StreamlitPage.run = timed_draw, timed_run
        script_runner.exec_func_with_error_handling = timed_script

    def reset(self) -> None:
        self.times = {k: [] for k in self.times}
        if self.prof:
            self.prof = cProfile.Profile()


def _perplexity(at):
    return next(s for s in at.slider if (s.key or "").startswith("emb_perplexity"))


def _ms(v: list[float]) -> str:
    return f"{1000 * statistics.median(v):6.0f} ms" if v else "     — ms"


def _run(at) -> float:
    t0 = time.perf_counter()
    at.run()
    dt = time.perf_counter() - t0
    assert not at.exception, at.exception
    return dt


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reruns", type=int, default=5, help="timed reruns per page (default 5)")
    ap.add_argument("--pages", default=",".join(PAGES), help="comma-separated pages (default: all)")
    ap.add_argument("--profile", action="store_true", help="cProfile the timed reruns, print the explorer's functions")
    ap.add_argument("--top", type=int, default=25, help="functions listed per page with --profile (default 25)")
    args = ap.parse_args()
    from app_helpers import new_app

    sections = Sections(args.profile)
    at = new_app()
    at.number_input(key="steps").set_value(5_000_000)
    _run(at)
    at.button(key="btn_start").click()
    _run(at)
    time.sleep(2)
    for name in args.pages.split(","):
        at.switch_page(PAGES[name])
        _run(at)
        if name == "sampler":
            at.button(key="samp_generate").click()
            _run(at)
            at.session_state["samp_tab"] = "Step by step"
            _run(at)
            for _ in range(2):
                at.button(key="samp_next").click()
                _run(at)
            at.session_state["samp_tab"] = "Generate"  # the timed reruns draw the generated names' charts
            _run(at)
        if name == "tsne":
            at.radio(key="emb_view").set_value("t-SNE")
            _run(at)
        sections.reset()
        sections.on = True
        if name == "tsne":  # AppTest reruns the whole page where the browser reruns only the live fragment
            times = [_run(_perplexity(at).set_value(3 + i % 4) and at) for i in range(args.reruns)]
        else:
            times = [_run(at) for _ in range(args.reruns)]
        sections.on = False
        print(f"{name:<11} rerun {_ms(times)}   script {_ms(sections.times['script'])} (CPU {_ms(sections.times['script cpu'])})   sidebar {_ms(sections.times['sidebar'])}   "
              f"page body {_ms(sections.times['page'])}")
        if sections.prof:
            out = io.StringIO()
            pstats.Stats(sections.prof, stream=out).sort_stats("cumulative").print_stats(
                r"explorer|mlp_lm|plotly/(basedatatypes|io|graph_objs)|streamlit/(elements|delta|navigation|runtime/(state|caching))", args.top)
            print("\n".join(line[:160] for line in out.getvalue().splitlines()[-args.top - 2:] if line.strip()))
    at.button(key="btn_stop").click()
    _run(at)
    return 0


if __name__ == "__main__":
    sys.exit(main())
