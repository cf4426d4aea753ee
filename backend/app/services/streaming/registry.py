"""One live connection per interview: a newer one takes over, the older is closed 4000."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable


class StreamRegistry:
    def __init__(self) -> None:
        self._live: dict[uuid.UUID, object] = {}
        self._locks: dict[uuid.UUID, asyncio.Lock] = {}

    def is_live(self, interview_id: uuid.UUID) -> bool:
        """Whether a connection is streaming this interview to this process now."""
        return interview_id in self._live

    @contextlib.asynccontextmanager
    async def hold(
        self,
        interview_id: uuid.UUID,
        connection: object,
        supersede: Callable[[object], Awaitable[None]],
    ) -> AsyncIterator[bool]:
        """Make ``connection`` the live one; yields False if an even newer one took over
        while this one waited for the previous holder to let go."""
        previous = self._live.get(interview_id)
        self._live[interview_id] = connection
        if previous is not None:
            with contextlib.suppress(Exception):  # it may be half-open or already gone
                await supersede(previous)
        lock = self._locks.setdefault(interview_id, asyncio.Lock())
        async with lock:
            try:
                yield self._live.get(interview_id) is connection
            finally:
                if self._live.get(interview_id) is connection:
                    del self._live[interview_id]
                    if not lock._waiters:
                        self._locks.pop(interview_id, None)
