"""A TCP relay that adds network latency: what a store far away looks like, on loopback.

``python -m bench.relay --listen PORT --to PORT --delay-ms D`` accepts connections on ``127.0.0.1:PORT`` and
forwards each to the target port, holding every piece of data ``D`` ms in each direction (so a request and
its answer take ``2 D`` ms more, as a server ``2 D`` ms away would) and delaying the connection's start by
one round trip (the TCP handshake). Bandwidth is not limited: data flows as fast as both ends take it, only
later. The relay runs as its own process so that its work is not done under the bench process's GIL.

The emulators of ``tests/stores`` answer in well under a millisecond on this machine, and share its two
cores with the clients; a real store answers a request in milliseconds to tens of milliseconds. With no
latency the bench measures mostly the emulator's CPU, which both clients wait on alike; with some, it also
measures how a client copes with a store that is not next door (parallel requests, reused connections).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

READ_SIZE = 1 << 20


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Copy ``reader`` to ``writer``, each piece ``delay`` seconds after it arrived, in order; a broken
    end raises."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def receive() -> None:
        while True:
            data = await reader.read(READ_SIZE)
            queue.put_nowait((loop.time() + delay, data))
            if not data:
                return

    async def deliver() -> None:
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    await asyncio.gather(receive(), deliver())


_live: set[asyncio.Task[None]] = set()  # asyncio keeps only weak references to the connections' tasks


async def _serve(listen: int, target: int, delay: float) -> None:
    async def relay(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        await asyncio.sleep(2 * delay)  # the handshake's round trip
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            client_w.close()
            return
        for w in (client_w, server_w):
            sock = w.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pumps = [
            asyncio.ensure_future(_pump(client_r, server_w, delay)),
            asyncio.ensure_future(_pump(server_r, client_w, delay)),
        ]
        try:
            for done in asyncio.as_completed(pumps):
                try:
                    await done
                except (ConnectionError, OSError):  # one end went away: so does the other
                    break
        finally:
            for pump in pumps:
                pump.cancel()
            for w in (client_w, server_w):
                w.close()

    def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.ensure_future(relay(client_r, client_w))
        _live.add(task)
        task.add_done_callback(_live.discard)

    server = await asyncio.start_server(handle, "127.0.0.1", listen, backlog=1024)
    async with server:
        await server.serve_forever()


@contextlib.contextmanager
def relaying(target: int, delay_ms: float) -> Iterator[int]:
    """Run a relay to ``127.0.0.1:target`` in a subprocess; yields the port it listens on."""
    from tests.real_server import free_port, stop_process_group

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.relay", "--listen", str(port), "--to", str(target), "--delay-ms", str(delay_ms)],
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the relay exited with {proc.returncode}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the relay did not listen on {port}") from None
                time.sleep(0.02)  # polling for the listener, not synchronising on timing
        yield port
    finally:
        stop_process_group(proc)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--to", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, required=True, help="one-way delay (the round trip is twice this)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))  # stopped by the bench: no clean-up to do
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.listen, args.to, args.delay_ms / 1000))


if __name__ == "__main__":
    main()
