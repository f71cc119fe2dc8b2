#!/usr/bin/env python3
"""delay_proxy.py PORT TARGET DELAY_MS: a TCP proxy on loopback that makes a
server seem far away, for benchmarks on kernels without sch_netem (where
`tc qdisc add dev lo root netem delay ...` is impossible).

Listens on 127.0.0.1:PORT; each connection is forwarded to
127.0.0.1:TARGET. Every chunk read from either side is written to the other
DELAY_MS milliseconds after it was read, in order: a one-way latency of
DELAY_MS in each direction (a round trip of 2 × DELAY_MS, as netem's delay
on lo gives), without limiting throughput (chunks in flight overlap). Prints
"listening on 127.0.0.1:PORT" once it accepts connections; stops on SIGTERM
or SIGINT (closing every connection)."""
import asyncio
import signal
import sys


async def pipe(reader, writer, delay):
    """Copies reader to writer, each chunk delay seconds after it arrived."""
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def receive():
        while True:
            chunk = await reader.read(1 << 16)
            await queue.put((loop.time() + delay, chunk))
            if not chunk:
                return

    async def send():
        while True:
            due, chunk = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not chunk:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(chunk)
            await writer.drain()

    try:
        await asyncio.gather(receive(), send())
    except (ConnectionError, OSError):
        pass


async def handle(client_reader, client_writer, target, delay):
    """Forwards one client connection to the target, both ways delayed."""
    try:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target)
    except OSError:
        client_writer.close()
        return
    try:
        await asyncio.gather(pipe(client_reader, server_writer, delay), pipe(server_reader, client_writer, delay))
    finally:
        for w in (client_writer, server_writer):
            w.close()


async def main(port, target, delay):
    server = await asyncio.start_server(lambda r, w: handle(r, w, target, delay), "127.0.0.1", port,
                                        reuse_address=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    print(f"listening on 127.0.0.1:{port}", flush=True)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: delay_proxy.py PORT TARGET DELAY_MS")
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000))
