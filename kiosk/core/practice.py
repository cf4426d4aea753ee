"""The practice answer on the microphone check (issue 15): the candidate answers a practice
question and hears it played back, so they know how they sound before anything counts.

It lives only in memory: never written to the spool, never sent. What is kept with the
interview is that it was used and how long it ran (in the preflight record).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from enum import StrEnum

import structlog

from kiosk.core.errors import KioskError
from kiosk.core.question_reader import PLAY_SLACK_SECONDS, Speaker

logger = structlog.get_logger(__name__)

PRACTICE_SECONDS = 10.0
PRACTICE_QUESTION = "What did you have for breakfast today?"


class PracticePhase(StrEnum):
    READY = "ready"  # not yet, or heard back already: it may be (re)done
    RECORDING = "recording"
    PLAYING = "playing"


class PracticeAnswer:
    def __init__(
        self,
        speaker: Speaker,
        sample_rate: int,
        on_change: Callable[[], None],
        on_played: Callable[[float], None],
    ) -> None:
        self._speaker = speaker
        self._rate = sample_rate
        self._on_change = on_change
        self._on_played = on_played  # seconds of the answer being played back
        self._blocks: list[bytes] | None = None
        self._recorded = 0
        self._task: asyncio.Task[None] | None = None
        self.phase = PracticePhase.READY
        self.seconds = 0.0  # the last practice answer played back (0: none yet)

    def press(self) -> None:
        """The practice button: start answering, stop and hear it back, or stop playing."""
        if self.phase is PracticePhase.RECORDING:
            self._play_back()
        elif self.phase is PracticePhase.PLAYING:
            self.stop()
        else:
            self._blocks, self._recorded = [], 0
            self.phase = PracticePhase.RECORDING
            self._on_change()

    def hear(self, block: bytes) -> None:
        """A block from the microphone: kept while recording, up to the practice's length."""
        if self._blocks is None:
            return
        self._blocks.append(block)
        self._recorded += len(block)
        if self._recorded >= PRACTICE_SECONDS * self._rate * 2:
            self._play_back()

    def stop(self) -> None:
        """Whatever it is doing, stop now (the screen changes, or the candidate pressed)."""
        self._blocks = None
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            self._speaker.stop()
        if self.phase is not PracticePhase.READY:
            self.phase = PracticePhase.READY
            self._on_change()

    def _play_back(self) -> None:
        pcm = b"".join(self._blocks or [])
        self._blocks = None
        if not pcm:  # stopped before a single block: nothing to hear
            self.stop()
            return
        self.phase = PracticePhase.PLAYING
        self._task = asyncio.create_task(self._play(pcm))
        self._on_change()

    async def _play(self, pcm: bytes) -> None:
        me = asyncio.current_task()
        seconds = len(pcm) / 2 / self._rate
        self.seconds = max(self.seconds, seconds)  # the longest, if practised more than once
        self._on_played(self.seconds)  # used, even if the candidate stops it part way
        try:
            async with asyncio.timeout(seconds + PLAY_SLACK_SECONDS):
                await self._speaker.play(pcm, self._rate)
        except (KioskError, TimeoutError) as exc:  # no speaker, or a stuck one: it ends
            logger.warning("practice_not_played", error=str(exc) or "timed out")
        finally:
            if self._task is me:
                self._task = None
                self.phase = PracticePhase.READY
                self._on_change()
