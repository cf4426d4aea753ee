"""The loop that takes transcription jobs off the queue, off the request path.

Built once in ``create_app`` and run by the lifespan. It polls the queue (so jobs queued by
another backend process, or left by one that died, are found too), runs up to
``IK_STT_WORKERS`` jobs at once, each on its own worker process, and renews each job's lease
while it works. A database that is not there yet (a backend started before its migration)
is waited for, not fatal.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.app.core.config import Settings
from backend.app.services.streaming.recording import recording_path
from backend.app.services.transcription import jobs
from backend.app.services.transcription.engine import (
    SttModel,
    TranscriptionFailed,
    WorkerProcess,
    WorkerUnavailable,
)

logger = structlog.get_logger(__name__)

MISSING_RECORDING = "The recording of this answer is missing from the server"


def _now() -> datetime:
    return datetime.now(UTC)


def _back_to(idle: asyncio.Queue[WorkerProcess], process: WorkerProcess, _task: object) -> None:
    idle.put_nowait(process)


def job_timeout(audio_seconds: float) -> float:
    """How long one answer may take: generous (a slow model on a busy machine), never endless."""
    return 60.0 + 3.0 * audio_seconds


class TranscriptionWorker:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        model: SttModel | None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._settings = settings
        self.model = model
        self.id = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._lease = timedelta(seconds=settings.stt_lease_seconds)
        self._processes: list[WorkerProcess] = []
        # While no worker can start, nothing is claimed (and no answer is failed for it).
        self._paused_until = 0.0
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def enabled(self) -> bool:
        return self.model is not None

    async def run(self) -> None:
        """Claim and work jobs until cancelled; returns at once when transcripts are off."""
        if self.model is None:
            return
        idle: asyncio.Queue[WorkerProcess] = asyncio.Queue()
        for _ in range(self._settings.stt_workers):
            process = WorkerProcess(self.model, self._settings)
            self._processes.append(process)
            idle.put_nowait(process)
        try:
            while True:
                process = await idle.get()
                if (wait := self._paused_until - time.monotonic()) > 0:
                    await asyncio.sleep(wait)
                job = await self._claim()
                if job is None:
                    idle.put_nowait(process)
                    await asyncio.sleep(self._settings.stt_poll_seconds)
                    continue
                task = asyncio.create_task(self._work(process, job))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                task.add_done_callback(partial(_back_to, idle, process))
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            for process in self._processes:
                await process.close()

    async def _claim(self) -> jobs.Claimed | None:
        try:
            async with self._sessionmaker() as session:
                return await jobs.claim(
                    session, self.id, _now(), self._lease, self._settings.stt_max_attempts
                )
        except SQLAlchemyError as exc:  # not migrated yet, or the database is busy or away
            logger.warning("transcription_queue_unreachable", error=type(exc).__name__)
            return None

    async def _work(self, process: WorkerProcess, job: jobs.Claimed) -> None:
        assert self.model is not None
        log = logger.bind(interview_id=str(job.interview_id), question=job.question_index,
                          attempt=job.attempts)  # fmt: skip
        renewing = asyncio.create_task(self._renew(job))
        retry = timedelta(seconds=self._settings.stt_retry_seconds)
        try:
            answer = await self._transcribe(process, job)
        except WorkerUnavailable as exc:
            log.warning("transcription_worker_unavailable", error=exc.detail)
            self._paused_until = time.monotonic() + max(retry.total_seconds(), 1.0)
            await self._record(jobs.release, job, self.id, exc.detail, _now(), retry)
            return
        except TranscriptionFailed as exc:
            log.warning("transcription_failed", error=exc.detail)
            await self._record(jobs.fail, job, self.id, exc.detail, _now(),
                               self._settings.stt_max_attempts, retry)  # fmt: skip
            return
        except Exception as exc:  # a bug must cost one attempt, not a stuck job
            log.exception("transcription_error")
            detail = f"Unexpected error while transcribing ({type(exc).__name__})"
            await self._record(jobs.fail, job, self.id, detail, _now(),
                               self._settings.stt_max_attempts, retry)  # fmt: skip
            return
        finally:
            renewing.cancel()
        result = jobs.Result(
            text=str(answer["text"]), words=list(answer["words"]),
            language=answer.get("language"), model=self.model.name,
            audio_seconds=float(answer["audio_seconds"]),
            work_seconds=float(answer["work_seconds"]),
        )  # fmt: skip
        await self._record(jobs.finish, job.id, self.id, result, _now())
        log.info("transcribed", audio_seconds=round(result.audio_seconds, 2),
                 work_seconds=round(result.work_seconds, 2))  # fmt: skip

    async def _transcribe(self, process: WorkerProcess, job: jobs.Claimed) -> dict[str, Any]:
        path = recording_path(self._settings.data_dir, job.interview_id)
        if not path.is_file() or path.stat().st_size < job.end_offset:
            raise TranscriptionFailed(MISSING_RECORDING)
        seconds = (job.end_offset - job.start_offset) / (2 * job.channels * job.sample_rate)
        request = {
            "path": str(path), "start": job.start_offset, "end": job.end_offset,
            "sample_rate": job.sample_rate, "channels": job.channels,
        }  # fmt: skip
        return await process.transcribe(request, job_timeout(seconds))

    async def _record(self, change: Callable[..., Awaitable[object]], *args: object) -> None:
        """Write a job's outcome; a database that fails now leaves the lease to run out, and
        the job is done again (it is never lost)."""
        try:
            async with self._sessionmaker() as session:
                await change(session, *args)
        except SQLAlchemyError as exc:
            logger.warning("transcription_not_recorded", error=type(exc).__name__)

    async def _renew(self, job: jobs.Claimed) -> None:
        while True:
            await asyncio.sleep(self._lease.total_seconds() / 3)
            with contextlib.suppress(SQLAlchemyError):
                async with self._sessionmaker() as session:
                    if not await jobs.renew(session, job.id, self.id, _now() + self._lease):
                        return
