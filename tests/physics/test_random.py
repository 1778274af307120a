"""The kernel's per-device random streams: distribution, reproducibility, thread independence."""
import numpy as np
import pytest
from scipy import stats

from rfemu import _core


def test_streams_are_standard_normal():
    x = _core.standard_normal_streams(np.random.default_rng(7), 8, 50_000)
    for row in x:
        assert stats.kstest(row, "norm").pvalue > 1e-3
    # independence between streams: correlations within 5 sigma of zero
    c = np.corrcoef(x)
    off = c[~np.eye(8, dtype=bool)]
    assert np.max(np.abs(off)) < 5 / np.sqrt(x.shape[1])


def test_same_seed_same_bits_other_seed_other_bits():
    a = _core.standard_normal_streams(np.random.default_rng(1), 3, 1000)
    b = _core.standard_normal_streams(np.random.default_rng(1), 3, 1000)
    c = _core.standard_normal_streams(np.random.default_rng(2), 3, 1000)
    assert np.array_equal(a, b)
    assert not np.any(a == c)


def test_generator_advances_between_calls():
    g = np.random.default_rng(3)
    a = _core.standard_normal_streams(g, 2, 100)
    b = _core.standard_normal_streams(g, 2, 100)
    assert not np.any(a == b)


@pytest.mark.parametrize("threads", [2, 3])
def test_thread_count_does_not_change_bits(threads):
    a = _core.standard_normal_streams(np.random.default_rng(5), 17, 999, 1)
    b = _core.standard_normal_streams(np.random.default_rng(5), 17, 999, threads)
    assert np.array_equal(a, b)
