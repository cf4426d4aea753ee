"""Which speech-to-text model this backend uses, and the worker processes that run it.

faster-whisper (MIT, on CTranslate2, int8 on CPU) is the ``stt`` install extra; the model is a
directory IT installs and names with ``IK_STT_MODEL``. Nothing is ever downloaded. Without
the extra or a model, transcripts are off: answers are still queued, and transcribed once a
model is configured. The frozen kiosk bundle holds neither, so an embedded backend has them off.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from backend.app.core.config import Settings
from backend.app.core.errors import DomainError

logger = structlog.get_logger(__name__)

MODEL_FILE = "model.bin"  # what every CTranslate2 model directory holds
START_TIMEOUT_SECONDS = 120.0
# A line from a worker can hold every word of a long answer with its times.
LINE_LIMIT = 16 * 1024 * 1024


class TranscriptionFailed(DomainError):
    """One answer could not be transcribed (the job is retried, then shown as failed)."""

    status_code = 502


class WorkerUnavailable(TranscriptionFailed):
    """No worker could be started (a wrong IK_STT_PYTHON, a model that does not load): no
    fault of the answer, so its job waits without losing an attempt."""


# The worker runs as a script (it imports nothing of the backend), so any Python with
# faster-whisper can run it; the frozen bundle carries this file for that (see the spec).
CHILD_SCRIPT = Path(__file__).with_name("child.py")


@dataclass(frozen=True)
class SttModel:
    path: Path
    name: str  # what the page shows: the directory's name
    python: Path  # what runs the worker script


def find_model(settings: Settings) -> SttModel | None:
    """The model to transcribe with, or None (transcripts off); said once in the log."""
    frozen = getattr(sys, "frozen", False)
    python = settings.stt_python or (None if frozen else Path(sys.executable))
    if python is None:
        reason = "set IK_STT_PYTHON to a Python with faster-whisper installed"
        logger.info("transcription_off", reason=reason)
        return None
    if settings.stt_python is None and importlib.util.find_spec("faster_whisper") is None:
        logger.info("transcription_off", reason="faster-whisper is not installed (the stt extra)")
        return None
    path = settings.stt_model
    if path is None:
        logger.info("transcription_off", reason="no model: set IK_STT_MODEL")
        return None
    if not (path / MODEL_FILE).is_file():
        logger.warning("transcription_off", reason=f"no {MODEL_FILE} there", path=str(path))
        return None
    logger.info("transcription_on", model=path.name, path=str(path), python=str(python),
                workers=settings.stt_workers)  # fmt: skip
    return SttModel(path, path.name, python)


class WorkerProcess:
    """One ``transcription.child`` process: a model loaded once, then one answer at a time."""

    def __init__(self, model: SttModel, settings: Settings) -> None:
        self._argv = [
            str(model.python), str(CHILD_SCRIPT), "--model", str(model.path),
            "--threads", str(settings.stt_cpu_threads),
            "--beam-size", str(settings.stt_beam_size), "--language", settings.stt_language,
        ]  # fmt: skip
        self._process: asyncio.subprocess.Process | None = None

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def start(self) -> None:
        # The worker needs none of the backend's settings (a database password, the secret).
        env = {key: value for key, value in os.environ.items() if not key.startswith("IK_")}
        env["HF_HUB_OFFLINE"] = "1"
        try:
            self._process = await asyncio.create_subprocess_exec(
                *self._argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                env=env, limit=LINE_LIMIT,
            )  # fmt: skip
        except OSError as exc:
            raise WorkerUnavailable(f"The transcription worker could not start: {exc}") from None
        try:
            ready = await self._read(START_TIMEOUT_SECONDS)
        except TranscriptionFailed as exc:
            raise WorkerUnavailable(
                f"The transcription worker did not start: {exc.detail}"
            ) from None
        if not ready.get("ready"):
            await self.close()
            raise WorkerUnavailable(
                f"The transcription model could not be loaded: {ready.get('error', 'no reason')}"
            )

    async def transcribe(self, request: dict[str, Any], limit_seconds: float) -> dict[str, Any]:
        """The worker's answer for one request.

        Raises:
            TranscriptionFailed: the worker said so, died, or took longer than ``limit_seconds``.
        """
        if not self.alive:
            await self.start()
        assert self._process is not None and self._process.stdin is not None
        try:
            self._process.stdin.write((json.dumps(request) + "\n").encode())
            await self._process.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            await self.close()
            raise TranscriptionFailed("The transcription worker stopped") from None
        answer = await self._read(limit_seconds)
        if not answer.get("ok"):
            raise TranscriptionFailed(str(answer.get("error", "no reason given")))
        return answer

    async def _read(self, limit_seconds: float) -> dict[str, Any]:
        assert self._process is not None and self._process.stdout is not None
        try:
            async with asyncio.timeout(limit_seconds):
                line = await self._process.stdout.readline()
        except TimeoutError:
            await self.close()  # a worker stuck on one answer is of no use for the next
            raise TranscriptionFailed(
                f"Transcription took longer than {limit_seconds:.0f} s"
            ) from None
        if not line:
            await self.close()
            raise TranscriptionFailed("The transcription worker stopped")
        try:
            answer: dict[str, Any] = json.loads(line)
        except ValueError:
            await self.close()
            raise TranscriptionFailed("The transcription worker answered nonsense") from None
        return answer

    async def close(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
