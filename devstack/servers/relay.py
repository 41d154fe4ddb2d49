"""A TCP relay: the same ports on the node bridge address, forwarded to the host's loopback.

Pods cannot reach 127.0.0.1 of the host. Rather than bind every host service to a second
address, this one process listens on the bridge gateway for each port and pipes each connection
to 127.0.0.1 on the same port, bytes unchanged (TLS, Host headers and credentials pass through).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

CHUNK = 1 << 16


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()  # half-close: the other direction may still be talking
    except (ConnectionError, OSError):
        writer.close()


async def _relay(
    target: tuple[str, int], client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter
) -> None:
    try:
        upstream_r, upstream_w = await asyncio.open_connection(*target)
    except OSError:
        client_w.close()  # nothing listens upstream: the client sees the connection close
        return
    try:
        await asyncio.gather(_pipe(client_r, upstream_w), _pipe(upstream_r, client_w))
    finally:
        for writer in (client_w, upstream_w):
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()


async def serve(listen: str, target: str, ports: list[int]) -> None:
    servers = []
    for port in ports:

        async def handle(
            r: asyncio.StreamReader, w: asyncio.StreamWriter, port: int = port
        ) -> None:
            await _relay((target, port), r, w)

        servers.append(await asyncio.start_server(handle, listen, port, reuse_address=True))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"relaying {listen} -> {target} on ports {', '.join(map(str, ports))}", flush=True)
    await stop.wait()
    for server in servers:
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listen", required=True, help="address to listen on (the bridge's)")
    parser.add_argument("--target", default="127.0.0.1", help="address to forward to")
    parser.add_argument("--port", type=int, action="append", required=True)
    args = parser.parse_args()
    try:
        asyncio.run(serve(args.listen, args.target, args.port))
    except OSError as err:  # a port taken, or the bridge address missing
        raise SystemExit(f"relay: {err}") from None


if __name__ == "__main__":
    main()
