"""Shared pieces of the sweep tests: a small moons network (about 0.15 s of CPU per run) and
backends started once per module (a two-process pool, a two-worker Dask cluster on loopback)."""
import textwrap

import pytest

#: metrics that measure the machine (wall time), not the physics: they differ run to run
TIMING = ("wall_time_s", "seconds", "cpu_seconds")

BASE = textwrap.dedent("""\
    name: tiny_sweep
    seed: 3
    network:
      inputs:
        frequency_plan: {kind: linear, min: 20 MHz, max: 120 MHz}
        max_power: 1 uW
      layers:
        - size: 4
          resonance_plan: {kind: linear, min: 20 MHz, max: 120 MHz}
          bias_voltage: 11 mV
          transconductance: 3.388 uA/mV
        - size: 2
          resonance_plan: {kind: geometric, min: 200 MHz, max: 400 MHz}
    task: {dataset: moons, n_train: 200, n_test: 60}
    engine: {kind: compiled, n_threads: 1}
    training: {rule: backprop, epochs: 60, batch_size: 32, frequency_learning_rate: 200 kHz}
    """)


def _write_scenario(folder, sweep: str, name="tiny_sweep.yaml", base=BASE):
    path = folder / name
    path.write_text(base + textwrap.dedent(sweep))
    return path


def _physical_values(ds):
    return {name: ds[name].values for name in ds.data_vars
            if name not in TIMING and not name.startswith("timing.")}


@pytest.fixture
def write_scenario():
    """``write_scenario(folder, sweep_yaml)``: a scenario file of the small network plus the
    given ``sweep:`` section."""
    return _write_scenario


@pytest.fixture
def physical_values():
    """``physical_values(ds)``: the variables of a sweep Dataset that must not depend on the
    machine (every metric but wall times), as numpy arrays."""
    return _physical_values


@pytest.fixture(scope="module")
def pool():
    from rfemu.sweep.executor import PoolBackend
    backend = PoolBackend(2)
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def dask_backend():
    """A Dask cluster started here (two one-thread worker processes, loopback only), reached by
    its scheduler's address as ``rfemu sweep --scheduler tcp://...`` reaches a running one."""
    from distributed import LocalCluster

    from rfemu.sweep.executor import DaskBackend
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None)
    backend = DaskBackend(scheduler=cluster.scheduler_address)
    assert backend.workers == 2 and cluster.scheduler_address.startswith("tcp://127.0.0.1:")
    yield backend
    backend.close()
    cluster.close()


#: 8 values x 2 repeats = 16 runs of about 0.1 s of CPU each
SWEEP16 = """\
    sweep:
      axes:
        - key: training.epochs
          values: [5, 10, 15, 20, 25, 30, 35, 40]
      repeats: 2
    """


@pytest.fixture(scope="module")
def sweep16(tmp_path_factory, pool):
    """The scenario file of a 16-run sweep and its undisturbed result on the pool."""
    from rfemu.sweep.runner import run_sweep
    folder = tmp_path_factory.mktemp("sweep16")
    path = _write_scenario(folder, SWEEP16)
    result = run_sweep(path, out=folder / "reference", backend=pool, progress=False,
                       figures=False)
    assert not result.failed and result.computed == 16
    return path, result.dataset
