"""The valve scenario on asyncio (bench/valve.ts): the Python side.

    /usr/bin/python3 valve.py TASKS STEP_MS WARMUP_MS WINDOW_MS     (fd 3: the sensor's pipe)

The same scenario and the same measuring rules as the Node side
(examples/valve.ts, examples/valve-meter.ts): a monitor task on a 1 ms
timer (`await asyncio.sleep(0.001)`) and a reader on the sensor's pipe
(`loop.add_reader`); TASKS background tasks, each step burning STEP_MS of
CPU and writing a log line to a file, then `await asyncio.sleep(0)`.
asyncio has one FIFO ready queue, so this is its only policy.

Clock: time.monotonic_ns (CLOCK_MONOTONIC), the clock the sensor stamps its
8-byte readings with. After a warm-up of WARMUP_MS, a window of WINDOW_MS:
a monitor event handled in the window is a sample (handled - due); events
due before the window's end and still unhandled then are censored samples
(end - due); a background step counts if it runs wholly inside the
window. Prints one JSON line in the shape of ValveOutcome.
"""
import asyncio
import json
import math
import os
import struct
import sys
import tempfile
import time

SENSOR_FD = 3
READING_BYTES = 8


def now_ms():
    return time.monotonic_ns() / 1e6


def burn(ms):
    end = time.perf_counter() + ms / 1000.0
    while time.perf_counter() < end:
        pass


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, math.ceil(p / 100.0 * len(sorted_values)) - 1))
    return sorted_values[index]


def summarize(samples, censored):
    s = sorted(samples)
    return {
        "count": len(s),
        "censored": censored,
        "p50Ms": percentile(s, 50),
        "p99Ms": percentile(s, 99),
        "maxMs": s[-1] if s else float("nan"),
    }


class Meter:
    """ValveMeter (examples/valve-meter.ts) in Python: the same window rules."""

    def __init__(self, warmup_ms, window_ms):
        self.warmup_ms = warmup_ms
        self.window_ms = window_ms
        self.t0 = self.t1 = math.inf
        self.finished = False
        self.closed = False
        self.timer_due = math.nan
        self.samples = {"timer": [], "pipe": []}
        self.censored = {"timer": 0, "pipe": 0}
        self.steps = []
        self.cpu0 = self.cpu1 = math.nan
        self.partial = b""

    def start(self):
        self.t0 = now_ms() + self.warmup_ms
        self.t1 = self.t0 + self.window_ms

    def over(self, at):
        return at >= self.t1

    def sample(self, source, due, at):
        if self.closed or at < self.t0 or not due < self.t1:
            return
        if at > self.t1:
            self.samples[source].append(self.t1 - due)
            self.censored[source] += 1
        else:
            self.samples[source].append(at - due)

    def timer_fired(self, at):
        self.sample("timer", self.timer_due, at)
        self.timer_due = math.nan

    def readings(self, data, at):
        data = self.partial + data
        whole = len(data) - len(data) % READING_BYTES
        for (sent_ns,) in struct.iter_unpack("<Q", data[:whole]):
            self.sample("pipe", sent_ns / 1e6, at)
        self.partial = data[whole:]

    def step(self, start, end):
        if self.t0 <= start and end < self.t1 and not self.finished:
            if not self.steps:
                self.cpu0 = time.process_time() * 1000
            self.steps.append(end - start)

    def finish(self, drain):
        if self.finished:
            return
        self.finished = True
        self.cpu1 = time.process_time() * 1000
        if self.timer_due < self.t1:
            self.sample("timer", self.timer_due, math.inf)
        drain()
        self.closed = True

    def outcome(self):
        steps = sorted(self.steps)
        return {
            "windowMs": self.window_ms,
            "timer": summarize(self.samples["timer"], self.censored["timer"]),
            "pipe": summarize(self.samples["pipe"], self.censored["pipe"]),
            "steps": len(steps),
            "stepsPerSec": len(steps) * 1000.0 / self.window_ms,
            "maxStepMs": steps[-1] if steps else float("nan"),
            "p99StepMs": percentile(steps, 99),
            "stepsPerCpuSec": len(steps) * 1000.0 / (self.cpu1 - self.cpu0) if steps else float("nan"),
            "gc": None,
        }


def read_pipe(meter, at):
    while True:
        try:
            data = os.read(SENSOR_FD, READING_BYTES * 512)
        except BlockingIOError:
            return
        if not data:
            return
        meter.readings(data, at)
        if len(data) < READING_BYTES * 512:
            return


async def scenario(meter, tasks, step_ms, log_fd):
    loop = asyncio.get_running_loop()
    ended = loop.create_future()

    def finish():
        meter.finish(lambda: read_pipe(meter, now_ms()))
        if not ended.done():
            ended.set_result(None)

    def on_readable():
        at = now_ms()
        read_pipe(meter, at)
        if meter.over(at):
            finish()

    async def monitor():
        while not meter.finished:
            meter.timer_due = now_ms() + 1
            await asyncio.sleep(0.001)
            at = now_ms()
            meter.timer_fired(at)
            if meter.over(at):
                finish()

    async def background(i):
        while True:
            start = now_ms()
            if meter.over(start):
                finish()
            if meter.finished:
                return
            burn(step_ms)
            os.write(log_fd, b"task %d step at %.3f\n" % (i, loop.time() * 1000))
            meter.step(start, now_ms())
            await asyncio.sleep(0)

    loop.add_reader(SENSOR_FD, on_readable)
    try:
        everyone = [loop.create_task(monitor())]
        everyone += [loop.create_task(background(i)) for i in range(tasks)]
        meter.start()
        await ended
        await asyncio.gather(*everyone)
    finally:
        loop.remove_reader(SENSOR_FD)


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    tasks = int(sys.argv[1])
    step_ms, warmup_ms, window_ms = (float(v) for v in sys.argv[2:5])
    os.set_blocking(SENSOR_FD, False)
    meter = Meter(warmup_ms, window_ms)
    log_fd, log_path = tempfile.mkstemp(prefix="eventide-valve-asyncio-", suffix=".log")
    try:
        asyncio.run(scenario(meter, tasks, step_ms, log_fd))
    finally:
        os.close(log_fd)
        os.unlink(log_path)
    # NaN (no samples) as null, as JSON.stringify writes it
    sys.stdout.write(json.dumps(without_nan(meter.outcome())) + "\n")


def without_nan(value):
    if isinstance(value, dict):
        return {k: without_nan(v) for k, v in value.items()}
    return None if isinstance(value, float) and math.isnan(value) else value


if __name__ == "__main__":
    main()
