"""Questions read aloud at the seat (issue 15).

The backend renders each question to speech; the reader fetches it and plays it on the
seat's speaker when the question appears, and again on "Repeat the question". While it
reads (fetching included), ``reading`` is true and the flow records nothing: the interview's
clocks run on the recording, so reading time never counts against thinking time, and the
candidate's answers never contain the question's voice.

Reading aloud is a help, never a gate: a server without speech, a missing engine (503) or a
dead speaker leaves the question as text, with one log line, never a message on the
candidate's screen.
"""

from __future__ import annotations

import asyncio
import io
import wave
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import structlog

from kiosk.core.errors import ApiError, KioskError

logger = structlog.get_logger(__name__)

FETCH_TIMEOUT_SECONDS = 20.0  # a first request renders; Piper takes up to about 3 s
PLAY_SLACK_SECONDS = 5.0  # a sound that has not finished this long after its length: stuck
# The server has no speech for anyone (no engine; a server older than speech): text only.
NO_SPEECH_STATUSES = frozenset({404, 503})


class Speaker(Protocol):
    async def play(self, pcm: bytes, rate: int) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class Speech:
    pcm: bytes  # mono int16
    rate: int

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / self.rate


def decode_wav(data: bytes) -> Speech:
    """A mono 16-bit WAV's samples. ValueError for anything else."""
    try:
        with wave.open(io.BytesIO(data)) as wav:
            if wav.getnchannels() != 1 or wav.getsampwidth() != 2 or wav.getframerate() <= 0:
                raise ValueError("question speech must be mono 16-bit")
            return Speech(wav.readframes(wav.getnframes()), wav.getframerate())
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"question speech is not a WAV file: {exc}") from exc


class QuestionReader:
    def __init__(
        self,
        fetch: Callable[[int], Awaitable[bytes]],
        speaker: Speaker,
        on_change: Callable[[], None],
        question_count: int | None = None,
    ) -> None:
        self._fetch = fetch
        self._speaker = speaker
        self._on_change = on_change
        self._question_count = question_count
        self._speech: dict[int, asyncio.Task[Speech]] = {}
        self._task: asyncio.Task[None] | None = None
        self.reading = False
        self.available = True  # False once the server said it has no speech at all

    def read(self, index: int) -> None:
        """Read question ``index`` aloud from the start (stopping any reading under way)."""
        self.stop()
        if not self.available:
            return
        self.reading = True
        self._task = asyncio.create_task(self._read(index))
        self._on_change()

    def stop(self) -> None:
        """Stop reading now: the recording goes on from here."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            self._speaker.stop()
        if self.reading:
            self.reading = False
            self._on_change()

    def close(self) -> None:
        """The interview is over at this seat: stop, and drop what was fetched."""
        self.stop()
        for fetched in self._speech.values():
            fetched.cancel()
        self._speech.clear()

    async def _read(self, index: int) -> None:
        me = asyncio.current_task()
        try:
            # Shielded: stopping this reading must not cancel a fetch a repeat can reuse.
            speech = await asyncio.shield(self._speech_for(index))
            if self._question_count is None or index + 1 < self._question_count:
                self._speech_for_later(index + 1)  # rendered while this one plays
            async with asyncio.timeout(speech.seconds + PLAY_SLACK_SECONDS):
                await self._speaker.play(speech.pcm, speech.rate)
        except ApiError as exc:
            self._speech.pop(index, None)  # a later repeat may find it
            if exc.status_code in NO_SPEECH_STATUSES:
                self.available = False
                logger.info("questions_text_only", reason=str(exc))
            else:
                logger.warning("question_speech_unavailable", index=index, error=str(exc))
        except (KioskError, ValueError, TimeoutError) as exc:
            self._speech.pop(index, None)
            logger.warning("question_not_read_aloud", index=index, error=str(exc))
        finally:
            if self._task is me:  # not replaced by a newer reading or stopped meanwhile
                self._task = None
                self.reading = False
                self._on_change()

    def _speech_for(self, index: int) -> asyncio.Task[Speech]:
        fetched = self._speech.get(index)
        if fetched is None or fetched.cancelled() or (fetched.done() and fetched.exception()):
            # None yet, or one that failed (a prefetch too): ask again.
            fetched = self._speech[index] = asyncio.ensure_future(self._fetched(index))
        return fetched

    def _speech_for_later(self, index: int) -> None:
        fetched = self._speech_for(index)
        # A failure is seen (and logged) when the question is read; not an unretrieved one.
        fetched.add_done_callback(lambda f: f.cancelled() or f.exception())

    async def _fetched(self, index: int) -> Speech:
        async with asyncio.timeout(FETCH_TIMEOUT_SECONDS):
            data = await self._fetch(index)
        return decode_wav(data)
