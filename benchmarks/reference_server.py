"""A minimal reference server for the stream-capacity benchmark.

It speaks just enough of protocol v1 (docs/protocol.md) for the load generator, so the
benchmark can say how much of a bare machine's capacity our backend keeps.

What it does, to stay comparable with the backend's durability promise:
- answers ``hello`` with ``ready`` (resume_offset 0, no question);
- appends each binary frame's audio to one file per connection (``os.write`` on an
  O_APPEND fd, like backend/app/services/streaming/recording.py);
- every 250 ms (the backend's ACK_INTERVAL_SECONDS), if new audio arrived, fsyncs on a worker
  thread and then acks: an ack means fsync'd, as in ours;
- answers ``end`` with an fsync, a final ack and ``completed`` {audio_bytes, sha256}.

What it does not do: authentication, a database, interview state or questions, offset
checks (it trusts the client's offsets and never reports gaps or resends), resume after
reconnect, the hello timeout, frame validation, logging. The gap between the two servers is
the price of those.

Run: python benchmarks/reference_server.py --port P --data-dir DIR
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import uuid
from pathlib import Path

from websockets.asyncio.server import ServerConnection, serve

ACK_INTERVAL_SECONDS = 0.25  # as backend/app/services/streaming/protocol.py
HEADER_BYTES = 8


class Recording:
    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        self._digest = hashlib.sha256()
        self.written = 0
        self.durable = 0
        self.acked = 0

    def append(self, audio: bytes) -> None:
        view = memoryview(audio)
        while view:
            view = view[os.write(self._fd, view) :]
        self._digest.update(audio)
        self.written += len(audio)

    async def sync(self) -> int:
        end = self.written
        if end > self.durable:
            # On a worker thread, as ours: an fsync can take milliseconds and must not stall
            # every other connection on the event loop.
            await asyncio.to_thread(os.fsync, self._fd)
            self.durable = max(self.durable, end)
        return self.durable

    def sha256(self) -> str:
        return self._digest.hexdigest()

    def close(self) -> None:
        os.close(self._fd)


async def _ack_loop(connection: ServerConnection, recording: Recording) -> None:
    while True:
        await asyncio.sleep(ACK_INTERVAL_SECONDS)
        durable = await recording.sync()
        if durable != recording.acked:
            recording.acked = durable
            await connection.send(json.dumps({"type": "ack", "offset": durable}))


async def _handler(connection: ServerConnection, data_dir: Path) -> None:
    recording = Recording(data_dir / f"{uuid.uuid4()}.pcm")
    acker: asyncio.Task[None] | None = None
    try:
        async for message in connection:
            if isinstance(message, bytes):
                recording.append(message[HEADER_BYTES:])
                continue
            kind = json.loads(message).get("type")
            if kind == "hello":
                ready = {"type": "ready", "interview_id": "ref", "resume_offset": 0}
                await connection.send(json.dumps(ready | {"question": None}))
                acker = asyncio.create_task(_ack_loop(connection, recording))
            elif kind == "end":
                if acker is not None:
                    acker.cancel()
                durable = await recording.sync()
                await connection.send(json.dumps({"type": "ack", "offset": durable}))
                completed = {
                    "type": "completed",
                    "audio_bytes": durable,
                    "duration_seconds": durable / 32000,
                    "sha256": recording.sha256(),
                }
                await connection.send(json.dumps(completed))
                await connection.close(1000)
                return
    finally:
        if acker is not None:
            acker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await acker
        recording.close()


async def _main(host: str, port: int, data_dir: Path) -> None:
    async def handler(connection: ServerConnection) -> None:
        await _handler(connection, data_dir)

    # No permessage-deflate, as our backend (PCM does not compress): websockets would
    # otherwise negotiate it and spend the reference's CPU on zlib for every frame.
    async with serve(handler, host, port, max_size=1 << 20, compression=None):
        await asyncio.get_running_loop().create_future()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args.host, args.port, args.data_dir))


if __name__ == "__main__":
    main()
