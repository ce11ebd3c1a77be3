"""Wake-up latency, the Python side (bench/io.ts): socketpair ping-pong through loop.add_reader.

    /usr/bin/python3 pingpong.py LOOP COUNT WARMUP      (LOOP: asyncio | uvloop; the socket is fd 3)

fd 3 is one end of a socketpair whose other end is echoed back by the C
`pingpong pong` peer. Each round trip writes one byte and is timed from
just before the send to just after the recv of the reply, which runs in
the loop's reader callback: one whole idle -> woken -> callback cycle of
the loop. WARMUP untimed round trips first. Prints
{"samplesUs": [...], "cpuUs": C} (every round trip in µs; this process's
CPU µs per round trip), the format every ping side uses. Exit status 3:
uvloop asked for and not installed.
"""
import asyncio
import json
import socket
import sys
import time


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("asyncio", "uvloop"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    loop_name, count, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if loop_name == "uvloop":
        try:
            import uvloop
        except ImportError:
            print("pingpong.py: uvloop is not installed for this python", file=sys.stderr)
            sys.exit(3)
        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()

    sock = socket.socket(fileno=3)
    sock.setblocking(False)
    fd = sock.fileno()
    samples = []
    clock = time.perf_counter_ns
    state = {"left": warmup + count, "sent": 0, "cpu0": 0.0}

    def send():
        state["sent"] = clock()
        sock.send(b"*")

    def on_readable():
        try:
            sock.recv(64)
        except BlockingIOError:
            return
        elapsed = clock() - state["sent"]
        left = state["left"] - 1
        state["left"] = left
        if left < count:
            samples.append(elapsed / 1000.0)
        if left == count:
            state["cpu0"] = time.process_time()
        if left == 0:
            loop.stop()
            return
        send()

    loop.add_reader(fd, on_readable)
    if warmup == 0:
        state["cpu0"] = time.process_time()
    send()
    loop.run_forever()
    cpu_us = (time.process_time() - state["cpu0"]) * 1e6 / count
    loop.remove_reader(fd)
    loop.close()
    sys.stdout.write(json.dumps({"samplesUs": [round(s, 2) for s in samples], "cpuUs": round(cpu_us, 3)}) + "\n")


if __name__ == "__main__":
    main()
