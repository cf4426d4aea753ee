"""Test centers, enrolled kiosks and a stand-in seat for the room console's tests.

``SeatStub`` speaks the control channel with the websockets library directly (no kiosk
code): it reports what the test tells it and acknowledges every command, recording each, so
the backend's side can be tested alone. The kiosk's own client is tested end to end in
tests/test_room_console_browser.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import update
from websockets.sync.client import ClientConnection, connect

from backend.app.core.config import Settings
from backend.app.core.db import create_engine, create_sessionmaker
from backend.app.models import User
from backend.app.services.kiosks import enroll, ensure_test_center


def _run(coroutine_factory: Any) -> Any:
    # On a thread of its own: callers may be sync tests or async ones (a running loop).
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine_factory()).result()


def enroll_kiosk(settings: Settings, kiosk_id: str, center: str) -> str:
    async def go() -> str:
        engine = create_engine(settings)
        try:
            async with create_sessionmaker(engine)() as session:
                return await enroll(session, kiosk_id, center, center.title())
        finally:
            await engine.dispose()

    return str(_run(go))


def assign_center(settings: Settings, user_id: uuid.UUID, center: str) -> None:
    async def go() -> None:
        engine = create_engine(settings)
        try:
            async with create_sessionmaker(engine)() as session:
                await ensure_test_center(session, center, center.title())
                await session.execute(
                    update(User).where(User.id == user_id).values(test_center_id=center)
                )
                await session.commit()
        finally:
            await engine.dispose()

    _run(go)


def report(state: str = "answering", **fields: Any) -> dict[str, Any]:
    return {"type": "report", "sent_at": time.time() * 1000, "state": state,
            "candidate": "Casey Candidate", "question_index": 1, "question_total": 5,
            "unacked_seconds": 0.0, **fields}  # fmt: skip


class SeatStub:
    def __init__(
        self, ws_base: str, kiosk_id: str, credential: str, ok: bool = True,
        on_command: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:  # fmt: skip
        self.kiosk_id = kiosk_id
        self.ok = ok
        self.on_command = on_command  # called with each command before it is acknowledged
        self.commands: list[dict[str, Any]] = []
        self._stack = contextlib.ExitStack()
        self._ws: ClientConnection = self._stack.enter_context(connect(
            f"{ws_base}/ws/kiosks/{kiosk_id}",
            additional_headers={"Authorization": f"Bearer {credential}"}, open_timeout=10,
        ))  # fmt: skip
        self._ws.send(json.dumps({"type": "hello", "protocol": 1, "version": "test"}))
        self.welcome = json.loads(self._ws.recv(timeout=10))
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def send(self, message: dict[str, Any]) -> None:
        with self._lock:
            self._ws.send(json.dumps(message))

    def _serve(self) -> None:
        try:
            for raw in self._ws:
                message = json.loads(raw)
                if message.get("type") == "command":
                    self.commands.append(message)
                    if self.on_command is not None:
                        self.on_command(message)
                    reply = {"type": "ack", "id": message["id"], "ok": self.ok}
                    if not self.ok:
                        reply["detail"] = f"{self.kiosk_id}: There is no session at this seat."
                    self.send(reply)
        except Exception:
            pass

    def close(self) -> None:
        self._stack.close()
        self._thread.join(5)
