"""`streamlit run explorer/app.py` (an st.App with explorer/server_start.py's lifespan) starts the kernel's warm-up as
the server starts, loads torch and the core once the first page is drawn — or, as here, when no browser has come
within server_start.FIRST_PAGE_WAIT seconds — and loads the kernel once it is compiled: the first Start does not wait
for the kernel (tests/test_first_page.py: the first page needs no torch; bench/bench_cold_start.py has the figures)."""
from pathlib import Path

from browser import Server, wait_until


def mapped(pid: int, lib: str) -> bool:
    """Whether the process has a shared library whose file name contains `lib` mapped (Linux /proc)."""
    try:
        return lib in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def children(pid: int) -> list[str]:
    """The command lines of a process's direct children."""
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                out.append(Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode())
            except OSError:
                pass
    return out


def test_the_server_loads_torch_and_starts_the_warm_up_before_any_session(tmp_path):
    srv = Server(tmp_path / "streamlit.log", env={"MLP_LM_RUNS_DIR": str(tmp_path / "runs"),
                                                  "NUMBA_CACHE_DIR": str(tmp_path / "numba")})  # a cold machine
    try:
        srv.wait_healthy()
        pid = srv.proc.pid
        assert wait_until(lambda: mapped(pid, "libtorch_cpu"), 60), "torch was not loaded before any session"
        assert wait_until(lambda: any("engines.kernel_cached" in c for c in children(pid)), 10) or \
            (tmp_path / "numba").exists(), children(pid)  # the warm-up runs (or has already filled the cache)
        assert wait_until(lambda: mapped(pid, "llvmlite"), 120), "the kernel was not loaded into the server"
        assert wait_until(lambda: "start-up done" in srv.log(), 60), srv.log()
        # never pandas in that thread: a script run that met it half-imported failed (plotly looks it up in
        # sys.modules without importing it); scikit-learn imports it
        assert not mapped(pid, "pandas/_libs") and not mapped(pid, "sklearn"), "the start-up imported pandas"
        assert "Traceback" not in srv.log()
    finally:
        srv.terminate()
