"""One live connection per interview: a newer one takes over, the older is closed 4000,
in this process or (through ``Ownership``) in any other sharing the database. A connection
whose token is revoked (a proctor ended the seat's session) is closed 4001, wherever it is."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from backend.app.services.streaming.ownership import (
    AdvisoryLockOwnership,
    LocalOwnership,
    Ownership,
    OwnershipUnavailable,
)
from backend.app.services.streaming.protocol import CLOSE_REVOKED, CLOSE_SUPERSEDED

# Closes a connection with the given code.
Supersede = Callable[[object, int], Awaitable[None]]


@dataclass(frozen=True)
class _Holder:
    connection: object
    supersede: Supersede
    token_id: str = ""  # the token that opened it (``jti``)


class StreamRegistry:
    def __init__(self, ownership: Ownership | None = None) -> None:
        self._live: dict[uuid.UUID, _Holder] = {}
        self._locks: dict[uuid.UUID, asyncio.Lock] = {}
        self.ownership: Ownership = ownership or LocalOwnership()
        self._closing: set[asyncio.Task[None]] = set()

    @classmethod
    def for_database(cls, database_url: str) -> StreamRegistry:
        """Several processes may share a PostgreSQL database: they agree through its locks."""
        registry = cls()
        if database_url.startswith("postgresql"):
            registry.ownership = AdvisoryLockOwnership(
                database_url, registry.take_over, registry.close_streams_of
            )
        return registry

    async def close(self) -> None:
        await self.ownership.close()

    async def is_streaming(self, interview_id: uuid.UUID) -> bool:
        """Whether a connection streams this interview now, to this process or another
        (when the database cannot say, it may be: the caller refuses what it would break)."""
        if interview_id in self._live:
            return True
        try:
            return await self.ownership.held_elsewhere(interview_id)
        except OwnershipUnavailable:
            return True

    def take_over(self, interview_id: uuid.UUID, code: int = CLOSE_SUPERSEDED) -> None:
        """This process must stop streaming the interview (a newer connection elsewhere wants
        it, or its claim was lost): close the local connection with ``code``; ``hold`` then
        lets go of it everywhere."""
        holder = self._live.get(interview_id)
        if holder is not None:
            task = asyncio.create_task(_quietly(holder.supersede(holder.connection, code)))
            self._closing.add(task)  # a reference, so the task is not collected mid-close
            task.add_done_callback(self._closing.discard)

    def close_streams_of(self, token_ids: set[str]) -> None:
        """Close this process's streams opened with one of ``token_ids``, just revoked (4001).
        Other processes hear of it from the database (``tokens.announce``)."""
        for interview_id, holder in list(self._live.items()):
            if holder.token_id and holder.token_id in token_ids:
                self.take_over(interview_id, CLOSE_REVOKED)

    @contextlib.asynccontextmanager
    async def hold(
        self, interview_id: uuid.UUID, connection: object, supersede: Supersede,
        token_id: str = "",
    ) -> AsyncIterator[bool]:  # fmt: skip
        """Make ``connection`` the live one; yields False if an even newer one took over
        while this one waited for the previous holder to let go.

        Raises ``OwnershipUnavailable`` if another process would not let go in time."""
        since = time.time()  # wall clock: compared with other processes' connections
        previous = self._live.get(interview_id)
        self._live[interview_id] = _Holder(connection, supersede, token_id)
        if previous is not None:
            await _quietly(previous.supersede(previous.connection, CLOSE_SUPERSEDED))

        def still_wanted() -> bool:
            holder = self._live.get(interview_id)
            return holder is not None and holder.connection is connection

        lock = self._locks.setdefault(interview_id, asyncio.Lock())
        async with lock:
            try:
                owned = still_wanted() and await self.ownership.acquire(
                    interview_id, since, still_wanted
                )
                try:
                    yield owned and still_wanted()
                finally:
                    if owned:  # after the body: the recording is durable and closed by now
                        await self.ownership.release(interview_id)
            finally:
                if still_wanted():
                    del self._live[interview_id]
                    if not lock._waiters:
                        self._locks.pop(interview_id, None)


async def _quietly(closing: Awaitable[None]) -> None:
    with contextlib.suppress(Exception):  # it may be half-open or already gone
        await closing
