"""The sidebar's widgets take their values from session_state, so the default their element carries is the range's
minimum (lr 1e-6, lr2 0). A browser that mounts a widget from an element without the value itself shows that minimum
and sends it back with the next interaction, and the sidebar pushed it into the live run: a Start pressed as the first
page loaded lost about 1 cold start in 4 its learning rate (seen in run.json's lr_changes). So every full run's
elements carry their value (`set_value`), the first run and every later one, on every page."""
from app_helpers import click, new_app, run

from explorer.session import SIDEBAR_KEYS

KINDS = ("number_input", "slider", "select_slider", "selectbox")


def sidebar_widgets(at) -> dict:
    """{key: the element's proto} of the sidebar's keyed widgets in the last run."""
    out = {}
    for kind in KINDS:
        for w in getattr(at.sidebar, kind):
            if w.key in SIDEBAR_KEYS:
                out[w.key] = w.proto
    return out


def carry_their_values(at) -> list[str]:
    """The sidebar widgets whose element does not carry the value (empty when all do)."""
    widgets = sidebar_widgets(at)
    assert set(widgets) == set(SIDEBAR_KEYS), set(SIDEBAR_KEYS) ^ set(widgets)
    return [k for k, proto in widgets.items() if not proto.set_value]


def test_every_run_s_sidebar_elements_carry_their_values():
    at = new_app()
    assert carry_their_values(at) == []
    run(at)  # a plain rerun: nothing was set through session_state in between
    assert carry_their_values(at) == []
    at.number_input(key="lr").set_value(0.05)  # the user's own edit stays, and is what the element carries
    run(at)
    assert carry_their_values(at) == []
    assert sidebar_widgets(at)["lr"].value == 0.05 and at.session_state["lr"] == 0.05
    click(at, "btn_pause")  # a control's rerun too
    assert carry_their_values(at) == []
    at.switch_page("app_pages/sampler.py")
    run(at)
    assert carry_their_values(at) == [] and at.session_state["lr"] == 0.05
