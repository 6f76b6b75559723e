import numpy as np
import pytest

from tinytorch.dataloader.transforms import (
    Compose,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
)
from tinytorch.tensor import Generator, Tensor


def batch(n=32, c=3, h=6, w=7, seed=0):
    return np.random.default_rng(seed).standard_normal((n, c, h, w)).astype(np.float32)


def test_normalize_per_channel():
    x = batch()
    mean, std = [0.1, -0.2, 0.3], [1.0, 2.0, 0.5]
    out = Normalize(mean, std)(x)
    expect = (x - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]
    np.testing.assert_allclose(out, expect, rtol=1e-6, atol=1e-6)
    assert out.dtype == np.float32
    assert Normalize(0.5, 0.5)(np.full((2, 1, 2, 2), 255, np.uint8)).dtype == np.float32
    single = Normalize(mean, std)(x[0])
    np.testing.assert_allclose(single, expect[0], rtol=1e-6, atol=1e-6)


def test_normalize_keeps_tensor_and_float64():
    t = Tensor(batch().astype(np.float64))
    out = Normalize([0.0] * 3, [2.0] * 3)(t)
    assert isinstance(out, Tensor)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.data, t.data / 2)


def test_normalize_errors():
    with pytest.raises(ValueError, match=r"mean has 2 values but the images have 3 channels"):
        Normalize([0.0, 0.0], [1.0, 1.0])(batch())
    with pytest.raises(ValueError, match="zero"):
        Normalize([0.0], [0.0])
    with pytest.raises(ValueError, match=r"\(N, C, H, W\) or \(C, H, W\), got shape \(4, 4\)"):
        Normalize(0.0, 1.0)(np.zeros((4, 4)))


def test_random_crop_takes_each_sample_from_its_padded_image():
    x = batch(n=64)
    crop = RandomCrop((4, 5), padding=2, generator=Generator(0))
    out = crop(x)
    assert out.shape == (64, 3, 4, 5)
    padded = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))
    offsets = set()
    for n in range(64):  # the check loops; the transform does not
        matches = [
            (i, j)
            for i in range(padded.shape[2] - 4 + 1)
            for j in range(padded.shape[3] - 5 + 1)
            if np.array_equal(padded[n, :, i : i + 4, j : j + 5], out[n])
        ]
        assert matches, f"sample {n} is not a crop of its own image"
        offsets.add(matches[0])
    assert len(offsets) > 10  # offsets are drawn per sample, not once per batch


def test_random_crop_reproducible_and_identity_without_room():
    x = batch()
    a = RandomCrop(5, padding=1, generator=Generator(3))(x)
    b = RandomCrop(5, padding=1, generator=Generator(3))(x)
    np.testing.assert_array_equal(a, b)
    same = RandomCrop((6, 7), generator=Generator(0))(x)
    np.testing.assert_array_equal(same, x)
    t = RandomCrop(3, generator=Generator(0))(Tensor(x[0]))
    assert isinstance(t, Tensor)
    assert t.shape == (3, 3, 3)


def test_random_crop_fill_value():
    out = RandomCrop(4, padding=4, fill=-1.0, generator=Generator(0))(np.zeros((200, 1, 4, 4)))
    # A crop pushed fully into the padding is all fill; some of 200 offsets land there.
    assert (out == -1.0).all(axis=(1, 2, 3)).any()


def test_random_crop_errors():
    with pytest.raises(ValueError, match=r"crop size \(9, 9\) is larger than the padded image"):
        RandomCrop(9, padding=1)(batch())
    with pytest.raises(ValueError, match="size must be positive"):
        RandomCrop(0)
    with pytest.raises(ValueError, match="padding"):
        RandomCrop(3, padding=(1, 2, 3))


def test_random_horizontal_flip_per_sample():
    x = batch(n=400)
    out = RandomHorizontalFlip(0.3, generator=Generator(1))(x)
    flipped = np.all(out == x[..., ::-1], axis=(1, 2, 3))
    kept = np.all(out == x, axis=(1, 2, 3))
    assert np.all(flipped ^ kept)
    assert 0.22 < flipped.mean() < 0.38
    np.testing.assert_array_equal(RandomHorizontalFlip(0.0)(x), x)
    np.testing.assert_array_equal(RandomHorizontalFlip(1.0)(x), x[..., ::-1])
    with pytest.raises(ValueError, match="p must lie in"):
        RandomHorizontalFlip(1.5)


def test_compose_runs_in_order():
    x = np.arange(4, dtype=np.float32).reshape(1, 1, 1, 4)
    out = Compose([RandomHorizontalFlip(1.0), Normalize(1.0, 2.0)])(x)
    np.testing.assert_allclose(out.ravel(), [1.0, 0.5, 0.0, -0.5])
    assert "RandomHorizontalFlip" in repr(Compose([RandomHorizontalFlip()]))
