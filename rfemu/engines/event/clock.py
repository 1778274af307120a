"""The event engine's clock: simulated time as an integer count of a fixed quantum.

Why integer ticks
-----------------
A float clock loses resolution as it runs: at ``t`` seconds the smallest step it can take is about
``t * 2.2e-16`` (16 ms -> 3.5e-18 s; 1 h -> 8e-13 s). A neuron that asks to be woken after a delay
smaller than that is woken at the same instant, computes the same state, asks again: the clock
stops and the run loops (a trained drone network did this at 16 ms of simulated time). Rebasing
time to 0 at each inference would hide the defect between inferences but not inside a long run
(on-chip learning runs last seconds to hours of simulated time without a pause).

So the clock counts ticks of ``TICK = 1e-18 s`` (one attosecond) in Python integers, which never
lose resolution however long a run lasts (simpy accepts any ordered numbers as times; an hour is
3.6e21 ticks, a small integer for Python). Every physics computation uses a *difference* of tick
counts, converted to seconds, so a run started at 1e4 s computes the same numbers as one started
at 0. A delay in seconds becomes the nearest whole number of ticks (a neuron's planned wake-up,
the next one up: it is never woken before its crossing); a positive delay below one tick becomes
one tick: the clock always advances. A negative or non-finite delay is an error that
names the device that asked for it.

The quantum is decimal so that the delays people write (1e-10 s, 10 ns) are whole numbers of ticks
and times print as the decimals they are (``ticks / 10**18`` is correctly rounded). It is far
below any time constant of the emulated devices (line delays ~1e-10 s, relaxation times ~1e-9 s,
write latencies ~1e-8 s): moving an event by less than a tick changes a relaxing neuron's state
by a fraction ~1e-9 of its distance to its target.

:class:`Clock` is a :class:`simpy.Environment` whose public face is in seconds (``now``,
``timeout``, ``run(until=...)``, ``peek``), so agents and users write simpy in SI units; the engine
reads ``ticks`` for its arithmetic. :class:`PriorityTimeout` is the one event type the engine
schedules by hand: a timeout with a :class:`~rfemu.engines.event.agents.Priority`.
"""
from __future__ import annotations

import math
from heapq import heappop, heappush

import simpy
from simpy.core import EmptySchedule
from simpy.events import PENDING, URGENT, Event, Timeout

__all__ = ["TICK", "TICKS_PER_SECOND", "to_ticks", "to_seconds", "Clock", "PriorityTimeout", "pending", "timer",
           "arm_ticks", "rearm"]

#: s, the clock's quantum (one attosecond)
TICK = 1e-18
#: ticks per second (exact)
TICKS_PER_SECOND = 10 ** 18


def to_ticks(delay: float, who="the event engine", *, up=False) -> int:
    """A delay in seconds as the nearest whole number of ticks (``up``: the next one up, for a
    time that must not come early); a positive delay is at least one tick (the clock always
    advances). 0 stays 0 (an event at the same instant).

    Raises
    ------
    ValueError
        If ``delay`` is negative, NaN or infinite (the message names ``who`` asked).
    """
    if not (delay >= 0.0 and delay != math.inf):
        raise ValueError(f"{who} asked for a delay of {delay!r} s (expected a finite delay >= 0 s)")
    if delay == 0.0:
        return 0
    ticks = delay * 1e18
    return max(math.ceil(ticks) if up else round(ticks), 1)


def to_seconds(ticks: int) -> float:
    """A number of ticks in seconds (the float nearest the exact decimal value)."""
    return ticks / TICKS_PER_SECOND


class Clock(simpy.Environment):
    """A simpy environment whose time is an integer count of ticks (:data:`TICK`).

    The public face is in seconds, like any simpy environment: ``now`` (s, float), ``peek()`` (s),
    ``timeout(delay_s)``, ``run(until=t_s)``. ``schedule(event, priority, delay)`` takes ``delay`` in
    ticks (simpy's internal call: its Timeout passes the ticks from :meth:`timeout`). ``ticks`` is the
    exact time, the one every physics computation of the engine uses (as differences).

    Parameters
    ----------
    start_time : float
        s, time of the first instant (rounded to a tick).
    """

    def __init__(self, start_time: float = 0.0):
        super().__init__(to_ticks(start_time, "Clock(start_time)"))

    @property
    def ticks(self) -> int:
        """The present time, ticks (an exact integer)."""
        return self._now

    @property
    def now(self) -> float:
        """The present time, s (the float nearest the exact time; differences of ``ticks`` are exact)."""
        return self._now / TICKS_PER_SECOND

    def peek(self) -> float:
        """Time of the next scheduled event, s (``inf`` if none)."""
        return self._queue[0][0] / TICKS_PER_SECOND if self._queue else math.inf

    def peek_ticks(self):
        """Time of the next scheduled event, ticks (``inf`` if none)."""
        return self._queue[0][0] if self._queue else math.inf

    def timeout(self, delay: float = 0.0, value=None) -> Timeout:
        """A simpy Timeout after ``delay`` seconds (rounded to whole ticks)."""
        return Timeout(self, to_ticks(delay, "a timeout"), value)

    def run(self, until=None):
        """As :meth:`simpy.Environment.run`, with ``until`` a time in seconds (or an event)."""
        if until is not None and not isinstance(until, Event):
            at = to_ticks(until, "Clock.run(until)")
            if at <= self._now:
                raise ValueError(f"until ({until!r} s) must be later than the present time ({self.now!r} s)")
            until = PriorityTimeout(self, URGENT, ticks=at - self._now)
        return super().run(until)

    def run_until_ticks(self, at: int) -> int:
        """Process every event up to and including time ``at`` (ticks), then stand at ``at``.
        Returns the number of events processed."""
        queue = self._queue
        n = 0
        while queue and queue[0][0] <= at:
            self._process_next(queue)
            n += 1
        if self._now < at:
            self._now = at
        return n

    def run_all(self) -> int:
        """Process every scheduled event; returns how many."""
        queue = self._queue
        process_next = self._process_next
        n = 0
        while queue:
            process_next(queue)
            n += 1
        return n

    def _process_next(self, queue):
        """:meth:`simpy.Environment.step` on a non-empty queue, without its StopSimulation
        handling (no ``run(until=event)`` is in progress when the engine runs its events)."""
        self._now, _, _, event = heappop(queue)
        callbacks, event.callbacks = event.callbacks, None
        for callback in callbacks:
            callback(event)
        if not event._ok and not hasattr(event, "_defused"):
            exc = type(event._value)(*event._value.args)
            exc.__cause__ = event._value
            raise exc


class PriorityTimeout(Event):
    """A timeout with a priority: processed ``delay`` seconds (or ``ticks``) after it is armed,
    before every event of the same instant with a larger priority value.

    Like :class:`simpy.events.Timeout` (which sets its outcome and schedules itself in its
    constructor), with two differences the agents need: the priority is given (simpy's Timeout
    is always NORMAL), and the event may be created pending, for a process to wait on, and armed
    once later (:meth:`arm`) by whoever wakes that process.

    Parameters
    ----------
    env : Clock
    priority : int
        simpy priority (lower first at the same instant; :class:`~rfemu.engines.event.agents.Priority`).
    delay : float, optional
        s; given (or ``ticks``), the timeout is armed at once.
    ticks : int, optional
        The delay in ticks instead of seconds.
    who : str
        Who asks (named in the error on a negative or non-finite delay).
    """

    def __init__(self, env, priority, delay=None, *, ticks=None, who="the event engine"):
        # simpy's own events set these fields directly (simpy.events.Timeout does)
        self.env = env
        self.callbacks = []
        self.priority = int(priority)          # plain ints compare fastest in simpy's heap
        if delay is None and ticks is None:
            self._value = PENDING
            return
        if ticks is None:
            ticks = to_ticks(delay, who)
        self._ok = True
        self._value = None
        env.schedule(self, self.priority, ticks)

    def arm(self, delay=None, *, ticks=None, who="the event engine"):
        """Schedule the event ``delay`` s (or ``ticks``; default now) from now; returns it."""
        if self._value is not PENDING:
            raise RuntimeError(f"{self!r} has already been triggered")
        if ticks is None:
            ticks = 0 if delay is None else to_ticks(delay, who)
        self._ok = True
        self._value = None
        self.env.schedule(self, self.priority, ticks)
        return self


# -- the hot path's constructors: the same events as PriorityTimeout's, without its argument
#    handling (``priority`` a plain int, ``ticks`` a whole number >= 0)
_new = object.__new__


def pending(env, priority: int) -> PriorityTimeout:
    """A pending :class:`PriorityTimeout` (``PriorityTimeout(env, priority)``), to be armed later."""
    event = _new(PriorityTimeout)
    event.env = env
    event.callbacks = []
    event.priority = priority
    event._value = PENDING
    return event


def timer(env, priority: int, ticks: int) -> PriorityTimeout:
    """A :class:`PriorityTimeout` armed ``ticks`` from now (``PriorityTimeout(env, priority, ticks=ticks)``)."""
    event = _new(PriorityTimeout)
    event.env = env
    event.callbacks = []
    event.priority = priority
    event._ok = True
    event._value = None
    heappush(env._queue, (env._now + ticks, priority, next(env._eid), event))
    return event


def arm_ticks(event: PriorityTimeout, ticks: int) -> PriorityTimeout:
    """``event.arm(ticks=ticks)`` (a pending event armed ``ticks`` from now)."""
    if event._value is not PENDING:
        raise RuntimeError(f"{event!r} has already been triggered")
    event._ok = True
    event._value = None
    env = event.env
    heappush(env._queue, (env._now + ticks, event.priority, next(env._eid), event))
    return event


def rearm(event: PriorityTimeout, ticks: int) -> PriorityTimeout:
    """A processed timeout (its callbacks done: ``event.callbacks is None``) scheduled again
    ``ticks`` from now with its priority: the same as a new :func:`timer`, one object less."""
    event.callbacks = []
    env = event.env
    heappush(env._queue, (env._now + ticks, event.priority, next(env._eid), event))
    return event
