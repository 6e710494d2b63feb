"""A fresh server's first page needs no torch (explorer/server_start.py): the start-up imports torch only once that
page is drawn, and the Train page's health line, the one part that needs it, fills in once it is there.

Each check runs in a fresh Python process (this one has torch loaded already) and prints what it saw as JSON.
"""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_python(code: str, tmp_path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLP_LM_RUNS_DIR": str(tmp_path / "runs")}
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_first_page_is_drawn_without_torch_and_the_health_line_follows(tmp_path):
    seen = run_python("""
        import json, sys
        from streamlit.testing.v1 import AppTest
        from explorer import server_start
        server_start._started.set()  # as explorer/app.py's lifespan does: the start-up has yet to load torch
        at = AppTest.from_file("explorer/main.py", default_timeout=120).run()
        first = dict(torch="torch" in sys.modules, errors=[e.message for e in at.exception],
                     captions=[c.value for c in at.caption], buttons=[b.label for b in at.button],
                     params=[m.value for m in at.metric if m.label == "Parameters"],
                     drawn=server_start._first_page.is_set(), loading=server_start.core_loading())
        server_start._core_loaded.set()  # the start-up has loaded the core: the next run draws the health line
        at.run()
        then = dict(errors=[e.message for e in at.exception], markdown=[m.value for m in at.markdown],
                    loading=server_start.core_loading())
        print(json.dumps(dict(first=first, then=then)))
    """, tmp_path)
    first, then = seen["first"], seen["then"]
    assert first["errors"] == [] and not first["torch"], first
    assert "Start" in first["buttons"] and first["params"] == ["11,897"]  # the sidebar and the metrics are there
    assert any("as soon as PyTorch has loaded" in c for c in first["captions"]), first["captions"]
    assert first["drawn"] and first["loading"]  # main.py told the start-up its page is drawn
    assert then["errors"] == [] and not then["loading"]
    assert any("Activation health at the start" in m for m in then["markdown"]), then["markdown"]


def test_the_start_up_loads_torch_only_after_the_first_page(tmp_path):
    seen = run_python("""
        import json, sys, threading, time
        from explorer import server_start
        from mlp_lm import engines

        class NoWarmUp:  # no compile in this test: the warm-up "failed", so the kernel is not loaded either
            def wait(self):
                return 1

        engines.start_warmup = NoWarmUp
        server_start.FIRST_PAGE_WAIT = 120
        server_start._started.set()
        threading.Thread(target=server_start.preload, daemon=True).start()
        end = time.monotonic() + 60
        while "explorer.shared_data" not in sys.modules or sys.modules["explorer.shared_data"]._default is None:
            time.sleep(0.05)
            assert time.monotonic() < end
        time.sleep(1.0)  # the start-up is now waiting for a first page
        before = dict(torch="torch" in sys.modules, loading=server_start.core_loading())
        server_start.page_drawn()
        loaded = server_start._core_loaded.wait(120)
        print(json.dumps(dict(before=before, loaded=loaded, torch="torch" in sys.modules,
                              trainer="mlp_lm.trainer" in sys.modules, loading=server_start.core_loading(),
                              threads=__import__("torch").get_num_threads())))
    """, tmp_path)
    assert seen["before"] == {"torch": False, "loading": True}, seen
    assert seen["loaded"] and seen["torch"] and seen["trainer"] and not seen["loading"]
    assert seen["threads"] == 1  # the start-up sets torch to one thread, as main.py did
