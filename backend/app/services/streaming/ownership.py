"""Which backend process streams an interview, when several share one PostgreSQL database.

Each stream holds a PostgreSQL session-level advisory lock keyed by its interview, on one
connection per process kept for that purpose. A process that wants an interview another
holds asks it to let go (``NOTIFY``, with when its own connection arrived: only a newer
connection takes over); the holder closes its connection 4000, writes and fsyncs what it
received, unlocks and says so; the newcomer then opens the recording (``flock``'d by its
holder, recording.py), which has every byte the old one acknowledged. A process that dies
loses its connection, so PostgreSQL frees its locks, and its journal is replayed by whoever
opens a stream next (journal.py).

The same connection hears of revoked tokens (``tokens.announce``, sent with the transaction
that revokes them), and the process closes the streams those tokens opened.

On SQLite there is one backend process per database: ``LocalOwnership`` grants at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Callable
from typing import Any, Protocol

import structlog
from sqlalchemy.engine import make_url

from backend.app.repositories.tokens import REVOKED_CHANNEL
from backend.app.services.streaming.protocol import CLOSE_SERVICE_RESTART, CLOSE_SUPERSEDED

logger = structlog.get_logger(__name__)

TAKEOVER_CHANNEL = "ik_stream_takeover"
RELEASED_CHANNEL = "ik_stream_released"
# How long a newcomer waits for the holder to let go before the kiosk is told to retry
# (under the kiosk's own 10 s wait for `ready`).
TAKEOVER_SECONDS = 8.0
# The holder's NOTIFY that it let go is a hint: the lock is tried again at this pace anyway.
RETRY_SECONDS = 0.25
# The request is repeated at this pace (the holder may have been taking it as it was asked).
ASK_AGAIN_SECONDS = 1.0
# A query on the lock connection that takes longer means the database or the link is wedged.
QUERY_SECONDS = 5.0
# The lock connection's TCP keepalives: if this host dies, PostgreSQL frees its locks within
# about a minute (the default is two hours), so the interviews can be taken elsewhere.
KEEPALIVES = {"tcp_keepalives_idle": "30", "tcp_keepalives_interval": "10",
              "tcp_keepalives_count": "3"}  # fmt: skip

# Called with an interview and the close code for its local connection, if any.
TakeOver = Callable[[uuid.UUID, int], None]
# Called with token ids just revoked (by any process: closing twice is harmless).
Revoked = Callable[[set[str]], None]


class OwnershipUnavailable(Exception):
    """The interview cannot be taken now (the holder did not let go, or the database is
    unreachable): the connection is closed 1013, and the kiosk reconnects."""


class Ownership(Protocol):
    async def acquire(
        self, interview_id: uuid.UUID, since: float, still_wanted: Callable[[], bool]
    ) -> bool:
        """Hold ``interview_id`` across processes for a connection that arrived at ``since``
        (wall-clock seconds); False if ``still_wanted`` turned false first (a newer
        connection in this process took over meanwhile)."""

    async def release(self, interview_id: uuid.UUID) -> None: ...

    async def held_elsewhere(self, interview_id: uuid.UUID) -> bool:
        """Whether another process streams the interview now."""

    async def close(self) -> None: ...


class LocalOwnership:
    """One process per database: the registry's own lock is enough."""

    async def acquire(
        self, interview_id: uuid.UUID, since: float, still_wanted: Callable[[], bool]
    ) -> bool:
        return True

    async def release(self, interview_id: uuid.UUID) -> None:
        return None

    async def held_elsewhere(self, interview_id: uuid.UUID) -> bool:
        return False

    async def close(self) -> None:
        return None


def lock_key(interview_id: uuid.UUID) -> int:
    """The advisory lock's bigint key: the interview id's first 64 bits (random in a v4 UUID)."""
    return int.from_bytes(interview_id.bytes[:8], "big", signed=True)


class AdvisoryLockOwnership:
    """PostgreSQL advisory locks, one connection per process (asyncpg, outside the pool: a
    pooled connection would hand its session's locks to whichever request borrowed it next).

    ``on_takeover`` is called (on the loop) with an interview this process must stop
    streaming: a newer connection elsewhere wants it (close 4000), or the lock connection was
    lost and PostgreSQL freed every lock (close 1012: the kiosk reconnects).
    """

    def __init__(
        self, database_url: str, on_takeover: TakeOver, on_revoked: Revoked | None = None
    ) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._on_takeover = on_takeover
        self._on_revoked = on_revoked
        # Tells this process's own NOTIFYs from others' (all processes listen on the channel).
        self._me = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._connection: Any = None  # asyncpg.Connection once connected
        self._io = asyncio.Lock()  # one query at a time on the connection
        self._held: dict[uuid.UUID, float] = {}  # interview -> when its connection arrived
        self._released = asyncio.Event()

    async def _connect(self) -> Any:
        if self._connection is not None and not self._connection.is_closed():
            return self._connection
        import asyncpg  # the postgres extra; only a PostgreSQL deployment gets here

        connection = None
        try:
            connection = await asyncpg.connect(
                self._dsn,
                timeout=QUERY_SECONDS,
                # pg_locks joined with pg_stat_activity then says which process streams what.
                server_settings={
                    "application_name": f"interview-backend {os.getpid()} streams",
                    **KEEPALIVES,
                },
            )
            await connection.add_listener(TAKEOVER_CHANNEL, self._notified)
            await connection.add_listener(RELEASED_CHANNEL, self._notified)
            await connection.add_listener(REVOKED_CHANNEL, self._notified)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            if connection is not None:
                connection.terminate()
            raise OwnershipUnavailable(f"the database is unreachable: {exc}") from exc
        connection.add_termination_listener(self._lost)
        self._connection = connection
        return connection

    def _notified(self, _connection: Any, _pid: int, channel: str, payload: str) -> None:
        if channel == RELEASED_CHANNEL:
            self._released.set()
            return
        if channel == REVOKED_CHANNEL:
            if self._on_revoked is not None:
                self._on_revoked({token for token in payload.split(",") if token})
            return
        sender, interview, since = [*payload.split(":"), "", ""][:3]
        if sender == self._me:
            return
        try:
            interview_id, asked_since = uuid.UUID(interview), float(since)
        except ValueError:
            return
        held_since = self._held.get(interview_id)
        # Only a newer connection takes over: an older one still waiting (its kiosk gave up
        # on it and came back here) must not end the kiosk's live stream.
        if held_since is not None and asked_since > held_since:
            logger.info("stream_takeover_requested", interview_id=interview)
            self._on_takeover(interview_id, CLOSE_SUPERSEDED)

    def _lost(self, _connection: Any) -> None:
        # PostgreSQL freed every lock of that session: another process may take any of
        # these interviews now, so this one stops streaming them; their kiosks reconnect.
        held, self._held = self._held, {}
        if held:
            logger.warning("stream_locks_lost", interviews=len(held))
        for interview_id in held:
            self._on_takeover(interview_id, CLOSE_SERVICE_RESTART)

    async def _query(self, statement: str, *args: object) -> Any:
        import asyncpg

        async with self._io:
            connection = await self._connect()
            try:
                async with asyncio.timeout(QUERY_SECONDS):
                    return await connection.fetchval(statement, *args)
            except (TimeoutError, asyncio.CancelledError):
                # Whether the lock was granted cannot be known: end the session, which frees
                # every lock it held (``_lost`` then stops this process's streams).
                connection.terminate()
                raise
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                raise OwnershipUnavailable(f"the database connection failed: {exc}") from exc

    async def acquire(
        self, interview_id: uuid.UUID, since: float, still_wanted: Callable[[], bool]
    ) -> bool:
        key = lock_key(interview_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TAKEOVER_SECONDS
        ask_at = loop.time()
        try:
            while still_wanted():
                self._released.clear()
                if await self._query("SELECT pg_try_advisory_lock($1)", key):
                    if still_wanted():
                        self._held[interview_id] = since
                        return True
                    await self._query("SELECT pg_advisory_unlock($1)", key)
                    break
                if loop.time() >= deadline:
                    raise OwnershipUnavailable("the backend process streaming it did not let go")
                if loop.time() >= ask_at:
                    await self._query("SELECT pg_notify($1, $2)", TAKEOVER_CHANNEL,
                                      f"{self._me}:{interview_id}:{since!r}")  # fmt: skip
                    ask_at = loop.time() + ASK_AGAIN_SECONDS
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(RETRY_SECONDS):
                        await self._released.wait()
        except TimeoutError as exc:
            raise OwnershipUnavailable("the database did not answer in time") from exc
        return False

    async def release(self, interview_id: uuid.UUID) -> None:
        if self._held.pop(interview_id, None) is None:
            return  # never held, or lost with the connection
        with contextlib.suppress(OwnershipUnavailable, TimeoutError):
            await self._query("SELECT pg_advisory_unlock($1)", lock_key(interview_id))
            await self._query("SELECT pg_notify($1, $2)", RELEASED_CHANNEL,
                              f"{self._me}:{interview_id}")  # fmt: skip

    async def held_elsewhere(self, interview_id: uuid.UUID) -> bool:
        if interview_id in self._held:
            return False
        key = lock_key(interview_id)
        try:
            if await self._query("SELECT pg_try_advisory_lock($1)", key):
                await self._query("SELECT pg_advisory_unlock($1)", key)
                return False
        except TimeoutError as exc:
            raise OwnershipUnavailable("the database did not answer in time") from exc
        return True

    async def close(self) -> None:
        self._held.clear()  # closing is not losing: nothing to take over
        async with self._io:
            if self._connection is not None and not self._connection.is_closed():
                with contextlib.suppress(Exception):
                    await self._connection.close(timeout=QUERY_SECONDS)
            self._connection = None
