"""Questions read aloud (issue 15): each planned question rendered to speech once, on this
machine, and kept with the interview.

The engine is espeak-ng (GPL): it runs as a separate process and is never imported, so the
backend stays ours to ship. Without it questions are text only: one log line at start-up,
and the speech route answers 503 with a plain sentence; the kiosk then shows the text alone.
A rendered question is written whole (a temporary file renamed into place) under
``<data_dir>/speech/<interview_id>/<index>.wav`` and served from there afterwards.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.core.errors import DomainError, NotFound
from backend.app.services.auth import Principal
from backend.app.services.interviews import get_for, no_such_question

logger = structlog.get_logger(__name__)
RENDER_TIMEOUT_SECONDS = 30.0
NO_ENGINE = "Questions are not read aloud here: no speech engine is installed on the server"


class SpeechUnavailable(DomainError):
    """No engine, or the engine failed: the question stays text only."""

    status_code = 503


class EspeakNg:
    """espeak-ng as a separate process: text on stdin, a WAV file out (22050 Hz, mono)."""

    name = "espeak-ng"

    def __init__(self, binary: str, voice: str = "en-us", words_per_minute: int = 150) -> None:
        self._binary = binary
        self._voice = voice
        self._words_per_minute = words_per_minute

    async def render(self, text: str, path: Path) -> None:
        process = await asyncio.create_subprocess_exec(
            self._binary, "-v", self._voice, "-s", str(self._words_per_minute),
            "-w", str(path), "--stdin",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            async with asyncio.timeout(RENDER_TIMEOUT_SECONDS):
                _out, err = await process.communicate(text.encode())
        except TimeoutError:
            await _reap(process)
            raise SpeechUnavailable("The speech engine did not finish in time") from None
        except BaseException:  # cancelled (a shutdown, a client gone): no orphan left behind
            await asyncio.shield(_reap(process))
            raise
        if process.returncode != 0:
            logger.warning("speech_render_failed", engine=self.name, status=process.returncode,
                           error=err.decode(errors="replace")[-300:])  # fmt: skip
            raise SpeechUnavailable("The speech engine could not read this question")


async def _reap(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.kill()
        await process.wait()


def find_engine(setting: str) -> EspeakNg | None:
    """The engine the setting names if it is installed, else None (said once, in the log:
    questions stay text only)."""
    if setting == "none":
        logger.info("speech_engine_off", detail="questions are text only (IK_SPEECH_ENGINE)")
        return None
    binary = shutil.which("espeak-ng")
    if binary is None:
        logger.info("speech_engine_missing", detail=NO_ENGINE)
        return None
    return EspeakNg(binary)


def speech_path(data_dir: Path, interview_id: uuid.UUID, index: int) -> Path:
    return data_dir / "speech" / str(interview_id) / f"{index}.wav"


# One render per question at a time in this process: a second request waits for the first.
_rendering: dict[Path, asyncio.Lock] = {}


async def question_speech(
    session: AsyncSession,
    principal: Principal,
    data_dir: Path,
    engine: EspeakNg | None,
    interview_id: uuid.UUID,
    index: int,
) -> Path:
    """Question ``index`` read aloud, as a WAV file, for whoever may see the interview (its
    candidate, proctors and admins). Rendered on the first request, then kept.

    Raises:
        NotFound: no such interview or question.
        SpeechUnavailable: no engine is installed, or it failed.
    """
    interview = await get_for(session, principal, interview_id)
    question = next((q for q in interview.questions if q.index == index), None)
    if question is None:
        raise NotFound(no_such_question(interview_id, index))
    path = speech_path(data_dir, interview.id, index)
    if path.exists():
        return path
    if engine is None:
        raise SpeechUnavailable(NO_ENGINE)
    text = question.text
    await session.close()  # no database connection held through a render
    lock = _rendering.setdefault(path, asyncio.Lock())
    try:
        async with lock:
            if not path.exists():
                await _render_into(engine, text, path)
                logger.info("question_rendered", interview_id=str(interview_id), index=index,
                            engine=engine.name)  # fmt: skip
    finally:
        _rendering.pop(path, None)
    return path


async def _render_into(engine: EspeakNg, text: str, path: Path) -> None:
    """Render into a file of its own beside ``path``, make it durable, then rename it into
    place: a reader (or another backend process rendering the same question) never sees a
    partial WAV, and a power cut never leaves one to be served."""
    await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
    handle, name = await asyncio.to_thread(tempfile.mkstemp, suffix=".partial.wav", dir=path.parent)
    os.close(handle)
    partial = Path(name)
    try:
        await engine.render(text, partial)
        await asyncio.to_thread(_durable_replace, partial, path)
    finally:
        await asyncio.to_thread(partial.unlink, missing_ok=True)  # gone once renamed


def _durable_replace(partial: Path, path: Path) -> None:
    with partial.open("rb") as rendered:
        os.fsync(rendered.fileno())
    os.replace(partial, path)
