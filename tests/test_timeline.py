"""The embedding timeline: bounded over a 1,000,000-step run, frames spread evenly, one PCA orientation, round trip."""
import tracemalloc

import numpy as np
import pytest
import torch

from mlp_lm.errors import CheckpointError
from mlp_lm.timeline import EmbeddingTimeline, fit_basis, project


def test_bounded_in_count_and_memory_over_a_million_steps():
    rng = np.random.default_rng(0)
    tl = EmbeddingTimeline(capacity=160)
    C = rng.standard_normal((27, 10)).astype(np.float32)
    step, most, fewest = 0, 0, 10**9
    tl.add(0, C)
    nbytes = tl.nbytes
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    while step < 1_000_000:  # chunks of 8–400 steps, as the trainer's vary (8 to 20,000)
        step = min(step + int(rng.integers(8, 401)), 1_000_000)
        C += 0.001
        tl.add(step, C)
        most = max(most, len(tl))
        fewest = min(fewest, len(tl)) if step > 200_000 else fewest  # once strides outgrow chunks
    now, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert most <= 161 and fewest >= 80
    # the buffers never grow; beyond them only frames()' one cached copy (≤ nbytes) is held
    assert tl.nbytes == nbytes and now - base < nbytes + 50_000 and peak - base < 3 * nbytes
    steps, tables = tl.frames()
    assert steps[0] == 0 and steps[-1] == 1_000_000 and np.all(np.diff(steps) > 0)
    np.testing.assert_allclose(tables[-1], C)  # the latest table is always the last frame
    gaps = np.diff(steps[:-1])
    assert gaps.min() >= tl.stride - 400 and gaps.max() <= tl.stride + 400  # one per stride, to within a chunk
    assert 80 <= len(steps) <= 161 and tl.stride == 8192
    assert 80 <= len(steps) <= 161


def test_every_step_kept_until_full_and_frames_are_copies():
    tl = EmbeddingTimeline(capacity=8)
    C = torch.zeros(5, 2)
    for s in range(6):
        C[0, 0] = s
        assert tl.add(s, C)
    steps, tables = tl.frames()
    assert steps.tolist() == list(range(6)) and tables[:, 0, 0].tolist() == list(range(6))
    assert not tables.flags.writeable
    C[0, 0] = 99  # the caller's tensor changes after add: the frames do not
    assert tl.frames()[1][-1, 0, 0] == 5
    with pytest.raises(ValueError):
        tl.add(3, C)
    with pytest.raises(ValueError):
        tl.add(7, torch.zeros(5, 3))


def test_pca_orientation_is_consistent_across_frames():
    rng = np.random.default_rng(1)
    final = rng.standard_normal((27, 10)) * np.linspace(3, 0.1, 10)
    start = rng.standard_normal((27, 10)) * 0.3
    frames = np.stack([start + (final - start) * a for a in np.linspace(0, 1, 40)])
    xy, basis = project(frames)
    assert xy.shape == (40, 27, 2)
    np.testing.assert_allclose(xy[-1], (final - final.mean(0)) @ basis.components.T)
    # frames move smoothly: no step flips an axis (a flip would move every point across the origin)
    steps = np.linalg.norm(np.diff(xy, axis=0), axis=2).max(1)
    assert steps.max() < 0.2 * np.abs(xy[-1]).max()
    # refitting on a slightly later table, with the old basis as reference, keeps the signs
    later = final + 0.01 * rng.standard_normal(final.shape)
    b2 = fit_basis(later, previous=basis)
    assert np.all(np.sum(b2.components * basis.components, 1) > 0.9)
    flipped = fit_basis(-final)  # the sign rule alone: the largest loading is positive
    assert all(c[np.argmax(np.abs(c))] > 0 for c in flipped.components)
    assert basis.explained[0] >= basis.explained[1] > 0


def test_round_trip_through_safetensors_bytes():
    tl = EmbeddingTimeline(capacity=10)
    for s in range(0, 50, 3):
        tl.add(s, np.full((4, 3), s, np.float32))
    tl.add(50, np.full((4, 3), 50, np.float32))
    data = tl.to_bytes()
    back = EmbeddingTimeline.from_bytes(data)
    for a, b in zip(tl.frames(), back.frames()):
        np.testing.assert_array_equal(a, b)
    assert back.stride == tl.stride
    back.add(60, np.zeros((4, 3), np.float32))  # and it keeps going
    assert back.frames()[0][-1] == 60


@pytest.mark.parametrize("bad", [b"", b"not safetensors at all", b"\xff" * 16])
def test_bad_bytes_are_one_clear_error(bad):
    with pytest.raises(CheckpointError, match="not a timeline file"):
        EmbeddingTimeline.from_bytes(bad)


def test_other_safetensors_are_refused():
    from safetensors.numpy import save

    with pytest.raises(CheckpointError, match="not a timeline file"):
        EmbeddingTimeline.from_bytes(save({"C": np.zeros((2, 3), np.float32)}))


def test_frames_are_cached_until_the_next_add():
    tl = EmbeddingTimeline(capacity=8)
    tl.add(0, np.zeros((3, 2), np.float32))
    a = tl.frames()
    assert tl.frames() is a
    tl.add(1, np.ones((3, 2), np.float32))
    b = tl.frames()
    assert b is not a and len(b[0]) == 2 and len(a[0]) == 1
