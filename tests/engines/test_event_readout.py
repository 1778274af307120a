"""The noisy event engine's readout reads the input it is given, not the one before.

With noise on an inference runs for a fixed time and the readout averages the output chains over
the last 1 / B of it, but never over its first ``EventEngine.settling_time()`` (line delays and
30 neuron damping times): until the new input has crossed the chip the outputs are still the
previous input's. On the Ross chip of scenarios/onchip_xor.yaml (2 us inferences, B = 100 kHz)
a mean from the start put about 8 % of the previous input's class scores into every reading: a
systematic error of up to 1.2 mV against per-reading noise of 0.25 mV and margins of 0.1-0.3 mV
(docs/physics.md, event-engine dynamics, Readouts)."""
import dataclasses

import numpy as np

from rfemu.engines.compiled import CompiledEngine
from rfemu.engines.event import EventEngine
from rfemu.engines.event.clock import to_ticks
from rfemu.engines.event.engine import _step_mean
from rfemu.scenario.build import event_config



def test_a_noisy_reading_is_of_its_own_input_not_pulled_toward_the_previous_one(ross_chip):
    """Two inputs A, B at the ends of an output chain's range (14.6 mV apart), 8 seeds: B read
    after A equals B read after B, per output chain within 4.5 standard errors of the paired
    difference plus 1 % of the chain's A - B difference, although the first 0.1 us of B's
    inference still shows A's scores (the transient the readout leaves out). Read from the
    inference's start (the engine before the readout waited for the settling), B after A was
    pulled toward A by 1.1 mV on that chain (7.6 %) and by 0.45 mV (6.1 %) on the other, 60 times
    its standard error of 0.0075 mV."""
    s, net = ross_chip(3)
    pool = np.random.default_rng(0).random((400, 2))
    scores = CompiledEngine(net, n_threads=1).forward(pool).scores
    widest = int(np.argmax(np.ptp(scores, axis=0)))
    i, j = np.argmax(scores[:, widest]), np.argmin(scores[:, widest])
    a, b, jump = pool[i], pool[j], np.abs(scores[i] - scores[j])        # jump: per chain, V
    assert jump.max() > 0.01
    after_b, after_a, early = [], [], []
    for seed in range(8):
        eng = EventEngine(net, event_config(s), seed=seed)
        eng.infer(b)
        after_b.append(eng.infer(b).outputs)
        eng.infer(a)
        item = eng.infer(b)
        after_a.append(item.outputs)
        t0 = to_ticks(item.t_start)
        early.append([_step_mean(r.records, t0, t0 + to_ticks(1e-7)) for r in eng.readouts])
    pull = np.array(after_a) - np.array(after_b)                           # (seeds, chains)
    se = pull.std(axis=0, ddof=1) / np.sqrt(len(pull))
    bound = 4.5 * se + 0.01 * jump
    assert np.all(np.abs(pull.mean(axis=0)) < bound), (pull.mean(axis=0), se, jump)
    assert np.any(bound < 0.05 * jump)                                     # a 5 % pull would show
    # the transient is there: B's inference starts on A's scores
    np.testing.assert_allclose(np.mean(early, axis=0), scores[i], atol=0.1 * jump.max())


def test_an_inference_of_the_default_duration_reads_its_whole_last_one_over_b(ross_chip):
    """The default noisy inference lasts the settling time plus 1 / B: its reading is the mean
    over exactly its last 1 / B, to the tick, as before the readout waited for the settling;
    also at a bandwidth whose duration rounds to one tick less than the settling time and 1 / B
    rounded apart (a window cut by that tick would change every reading's last bits)."""
    s, net = ross_chip(3)
    scenario = event_config(s)

    def settling(line_delay):
        return EventEngine(net, dataclasses.replace(scenario, noise=False, line_delay=line_delay)).settling_time()

    # a line delay a fraction of a tick longer, so the settling time ends past half a tick
    delay = next(d for d in scenario.line_delay + np.arange(1, 8) * 1.5e-19 if settling(d) * 1e18 % 1 > 0.6)
    short = next(b for b in np.linspace(90e3, 110e3, 2001)
                 if to_ticks(settling(delay) + 1.0 / b) < to_ticks(settling(delay)) + to_ticks(1.0 / b))
    for line_delay, bandwidth in ((scenario.line_delay, scenario.readout_bandwidth), (delay, short)):
        config = dataclasses.replace(scenario, noise_duration=None, readout_bandwidth=float(bandwidth),
                                     line_delay=float(line_delay))
        eng = EventEngine(net, config, seed=0)
        settling_time = eng.settling_time()
        item = eng.infer(np.array([0.3, 0.6]))
        t0, t1 = to_ticks(item.t_start), to_ticks(item.t_end)
        assert t1 - t0 == to_ticks(settling_time + 1.0 / bandwidth)
        last = [_step_mean(r.records, t1 - to_ticks(1.0 / bandwidth), t1) for r in eng.readouts]
        np.testing.assert_array_equal(item.outputs, last)
