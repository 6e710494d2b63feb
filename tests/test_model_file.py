"""The app's model files: download the run as safetensors bytes, start from one; bad files change nothing."""
import pickle

import pytest
import torch

from explorer.holder import Holder, parse_text
from explorer.settings import default_values
from mlp_lm.errors import MLPLMError


@pytest.fixture
def holder():
    h = Holder()
    yield h
    h.close()


def small_values():
    v = default_values()
    v.update(hidden=16, emb_dim=4, steps=200)
    return v


def test_download_then_start_from_it(holder):
    v = small_values()
    holder.start(v)
    holder.trainer.wait(30)
    trained = holder.snapshot()
    data = holder.model_bytes()
    assert isinstance(data, bytes) and len(data) > 1000
    sizes = holder.load_model(data, {**v, "hidden": 200})  # the file's sizes win over the sidebar's
    assert sizes["hidden"] == 16 and holder.snapshot().status == "idle"
    for k, t in trained.params.items():
        assert torch.equal(holder.snapshot().params[k], t)


@pytest.mark.parametrize("bad", [b"", b"\x00" * 64, b"not a model at all", pickle.dumps({"C": [1, 2, 3]})],
                         ids=["empty", "zeros", "text", "pickle"])
def test_bad_model_files_keep_the_current_run(holder, bad):
    v = small_values()
    holder.start(v)
    holder.trainer.wait(30)
    before, run = holder.trainer, holder.run_id
    with pytest.raises(MLPLMError):
        holder.load_model(bad, v)
    assert holder.trainer is before and holder.run_id == run


def test_truncated_and_other_vocabulary(holder):
    v = small_values()
    holder.start(v)
    holder.trainer.wait(30)
    data = holder.model_bytes()
    with pytest.raises(MLPLMError):
        holder.load_model(data[: len(data) // 2], v)
    holder.use_names(parse_text("\n".join(["Åsa", "Ölvir", "Émile", "Zoë", "Björn", "Anaïs", "Chloé"])))
    with pytest.raises(MLPLMError, match="vocabulary"):
        holder.load_model(data, v)
