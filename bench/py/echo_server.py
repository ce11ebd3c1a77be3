"""Echo servers for the I/O benchmark (bench/io.ts): asyncio or uvloop, Protocol or streams.

    /usr/bin/python3 echo_server.py LOOP API SIZES
      LOOP   asyncio | uvloop
      API    protocol | buffered | streams
      SIZES  comma-separated message sizes, e.g. 1024,16384

Listens on 127.0.0.1 and prints one line of JSON, {"ports": {...}}, mapping
each message size (or "*" for any size) to a port, then serves until killed.

- protocol: asyncio.Protocol whose data_received writes the data back to the
  transport (the uvloop benchmarks' echo), pausing reading while the write
  buffer is above the high water mark. One port serves every size.
- buffered: the same echo as an asyncio.BufferedProtocol receiving into a
  64 KiB bytearray of its own (get_buffer / buffer_updated).
- streams: asyncio.start_server; each client loops readexactly(SIZE), write,
  drain. A streams server must know the message size, so it listens on one
  port per size.

Exits with status 3 and a message on stderr when uvloop is asked for and
not installed (the bench then skips the uvloop cases).
"""
import asyncio
import json
import sys


class EchoProtocol(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)

    def pause_writing(self):
        self.transport.pause_reading()

    def resume_writing(self):
        self.transport.resume_reading()


class BufferedEchoProtocol(asyncio.BufferedProtocol):
    def __init__(self):
        self.buffer = bytearray(64 * 1024)
        self.view = memoryview(self.buffer)

    def connection_made(self, transport):
        self.transport = transport

    def get_buffer(self, sizehint):
        return self.buffer

    def buffer_updated(self, nbytes):
        # Up to 3.11 write() copies what it cannot send now (into a
        # bytearray); from 3.12 it keeps the object, so hand it a copy there.
        chunk = self.view[:nbytes]
        self.transport.write(chunk if sys.version_info < (3, 12) else bytes(chunk))

    def pause_writing(self):
        self.transport.pause_reading()

    def resume_writing(self):
        self.transport.resume_reading()


def stream_handler(size):
    async def handle(reader, writer):
        try:
            while True:
                data = await reader.readexactly(size)
                writer.write(data)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    return handle


async def serve(api, sizes):
    loop = asyncio.get_running_loop()
    ports = {}
    servers = []
    if api in ("protocol", "buffered"):
        factory = EchoProtocol if api == "protocol" else BufferedEchoProtocol
        server = await loop.create_server(factory, "127.0.0.1", 0, backlog=1024)
        servers.append(server)
        ports["*"] = server.sockets[0].getsockname()[1]
    else:
        for size in sizes:
            server = await asyncio.start_server(stream_handler(size), "127.0.0.1", 0, backlog=1024)
            servers.append(server)
            ports[str(size)] = server.sockets[0].getsockname()[1]
    print(json.dumps({"ports": ports}), flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("asyncio", "uvloop") or sys.argv[2] not in ("protocol", "buffered", "streams"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    loop_name, api = sys.argv[1], sys.argv[2]
    sizes = [int(s) for s in sys.argv[3].split(",")]
    if loop_name == "uvloop":
        try:
            import uvloop
        except ImportError:
            print("echo_server.py: uvloop is not installed for this python", file=sys.stderr)
            sys.exit(3)
        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(serve(api, sizes))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
