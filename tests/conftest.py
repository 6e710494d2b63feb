"""Shared fixtures: a small dataset from data/names.txt, a guard that no trainer thread outlives a test, the app
tests' warm kernel and released sessions, a run store in a temporary folder (never the repository's runs/), and for
the real-browser tests a server with its own empty store, Debian's chromium and a 1280×720 page (module-scoped)."""
import os
import threading

import pytest

from mlp_lm.data import DEFAULT_DATA, load_words, make_dataset


@pytest.fixture(scope="session", autouse=True)
def temporary_runs_dir(tmp_path_factory):
    """Every run the tests record (in this process, the CLI subprocesses and the app servers) goes to a temporary
    store, through the environment variable the CLI and the app read."""
    path = tmp_path_factory.mktemp("runs")
    old = os.environ.get("MLP_LM_RUNS_DIR")
    os.environ["MLP_LM_RUNS_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("MLP_LM_RUNS_DIR", None)
    else:
        os.environ["MLP_LM_RUNS_DIR"] = old


@pytest.fixture(scope="session", autouse=True)
def compiled_kernel():
    """Compile (or load) the fused kernel before any test trains: a run on a cold cache starts on the reference
    engine and hands over mid-run (engines.py), which would make two runs of the same seed differ slightly."""
    from mlp_lm.fast import warmup

    warmup()


@pytest.fixture(scope="session")
def small_words():
    return load_words(DEFAULT_DATA)[::20]  # 1,624 names, every letter present


@pytest.fixture(scope="session")
def small_ds(small_words):
    return make_dataset(small_words, 3)


def trainer_threads():
    return [t for t in threading.enumerate() if t.name == "mlp_lm-trainer" and t.is_alive()]


@pytest.fixture(autouse=True)
def no_leaked_trainer_threads():
    yield
    for t in trainer_threads():
        t.join(5)
    assert not trainer_threads(), "a trainer thread outlived its test"


@pytest.fixture(scope="module")
def warm_kernel():
    """Compile (or load) the fast kernel once up front, so app tests time the app, not numba."""
    from mlp_lm.fast import warmup

    warmup()


@pytest.fixture
def released_sessions():
    """After the test: end the sessions as closed tabs do, and require their trainer threads and holders gone."""
    yield
    import streamlit as st

    from explorer.holder import OPEN_HOLDERS

    st.cache_resource.clear()  # calls on_release → Holder.close → Trainer.stop (joins the thread)
    assert not trainer_threads(), "a trainer thread outlived the session's release"
    assert not list(OPEN_HOLDERS), "a holder was not released"


# ---- the real-browser tests (tests/browser.py) ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`streamlit run explorer/app.py` with a run store of its own (empty), for one test module; `server.store`."""
    from browser import Server

    from mlp_lm.runs import RunStore

    root = tmp_path_factory.mktemp("server_runs")
    srv = Server(tmp_path_factory.mktemp("server") / "streamlit.log", env={"MLP_LM_RUNS_DIR": str(root)})
    srv.wait_healthy()
    srv.store = RunStore(root)
    yield srv
    if srv.proc.poll() is None:
        srv.terminate()


@pytest.fixture(scope="module")
def browser():
    """Headless Debian chromium through Playwright (no browser download)."""
    from browser import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def page(browser, server):
    """One 1280×720 tab on the module's server, the app loaded."""
    from browser import wait_app_ready

    pg = browser.new_page(viewport={"width": 1280, "height": 720})
    pg.goto(server.url)
    wait_app_ready(pg)
    yield pg
    pg.close()
