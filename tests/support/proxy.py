"""A TCP proxy on loopback that a test can cut: every open connection is aborted (RST), as a
network blip or a pulled cable would, while new connections are still accepted.

It can also throttle the client-to-server direction (``throttle``), as a congested uplink
would: bytes beyond the limit wait in the proxy and in the kernel's socket buffers, so the
sender sees backpressure rather than loss."""

from __future__ import annotations

import asyncio
import contextlib

# While throttled, bytes are forwarded in slices of this much link time, so the pace is smooth
# and a lifted limit takes effect at once rather than after a large slice.
_SLICE_SECONDS = 0.02


class CuttableProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.cuts = 0
        # While True, new connections are refused as well (see go_down).
        self.down = False
        # Client-to-server bytes per second, shared by every connection (one link); None: no limit.
        self.rate: float | None = None
        self.forwarded_up = 0  # client-to-server bytes delivered to the target
        self._link_free_at = 0.0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> CuttableProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.down:  # the far side is unreachable: every attempt fails at once
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, up: bool) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await src.read(self._read_size(up)):
                    while data:
                        size = await self._pace(len(data)) if up else len(data)
                        dst.write(data[:size])
                        await dst.drain()
                        data = data[size:]
                        if up:
                            self.forwarded_up += size
            with contextlib.suppress(OSError):
                dst.close()

        await asyncio.gather(pipe(reader, up_writer, True), pipe(up_reader, writer, False))
        self._writers -= {writer, up_writer}

    def _read_size(self, up: bool) -> int:
        # A throttled link takes little at a time: the rest waits in the kernel's buffers,
        # where the sender feels the backpressure, not in this process.
        if up and self.rate is not None:
            return max(2, int(self.rate * _SLICE_SECONDS))
        return 65536

    async def _pace(self, available: int) -> int:
        """How many of ``available`` bytes to forward now, after waiting for the link time
        they take at the current rate (no wait without a limit)."""
        rate = self.rate
        if rate is None:
            return available
        size = min(available, max(2, int(rate * _SLICE_SECONDS)))
        loop = asyncio.get_running_loop()
        # A link that sat idle does not bank the time; one that lost a little to a late
        # wake-up may make up one slice of it, so the rate holds on a busy machine.
        start = max(loop.time() - _SLICE_SECONDS, self._link_free_at)
        self._link_free_at = start + size / rate
        await asyncio.sleep(self._link_free_at - loop.time())
        return size

    def throttle(self, bytes_per_second: float | None) -> None:
        """Limit the client-to-server direction to ``bytes_per_second`` (None lifts it)."""
        assert bytes_per_second is None or bytes_per_second > 0
        self.rate = bytes_per_second
        self._link_free_at = 0.0

    @property
    def connections(self) -> int:
        return len(self._writers) // 2

    def cut(self) -> None:
        self.cuts += 1
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def go_down(self) -> None:
        """The backend vanishes: open connections are cut and new ones refused."""
        self.down = True
        self.cut()

    def come_back(self) -> None:
        self.down = False

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
