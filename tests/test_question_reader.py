"""The question reader's own rules (kiosk/core/question_reader.py): what it fetches again,
when it gives up on speech for good, and what a stopped reading leaves behind. The fetch and
the speaker are the reader's two interfaces; the end-to-end behaviour on a real backend and
the virtual speaker is in tests/test_kiosk_read_aloud.py."""

from __future__ import annotations

import asyncio
import io
import wave

import pytest

from kiosk.core.errors import ApiError, BackendUnreachable
from kiosk.core.question_reader import QuestionReader, decode_wav


def _wav(seconds: float = 0.2, rate: int = 22050, channels: int = 1) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(b"\x01\x00" * int(seconds * rate) * channels)
    return out.getvalue()


class Speaker:
    def __init__(self) -> None:
        self.played: list[int] = []

    async def play(self, pcm: bytes, rate: int) -> None:
        self.played.append(len(pcm))
        await asyncio.sleep(len(pcm) / 2 / rate)

    def stop(self) -> None:
        pass


class Fetch:
    """Answers each index from a script of results (an exception is raised), then a WAV."""

    def __init__(self, script: dict[int, list[BaseException | bytes]], delay: float = 0.0):
        self.script = script
        self.delay = delay
        self.calls: list[int] = []

    async def __call__(self, index: int) -> bytes:
        self.calls.append(index)
        await asyncio.sleep(self.delay)
        planned = self.script.get(index, [])
        result = planned.pop(0) if planned else _wav()
        if isinstance(result, BaseException):
            raise result
        return result


async def _read(reader: QuestionReader, index: int) -> None:
    reader.read(index)
    async with asyncio.timeout(5):
        while reader.reading:
            await asyncio.sleep(0.01)


@pytest.mark.asyncio
async def test_a_failed_prefetch_is_fetched_again_when_its_question_comes() -> None:
    fetch = Fetch({1: [BackendUnreachable("down for a moment")]})
    speaker = Speaker()
    reader = QuestionReader(fetch, speaker, lambda: None, question_count=3)
    await _read(reader, 0)  # prefetches question 1, which fails
    await asyncio.sleep(0.05)
    await _read(reader, 1)
    assert fetch.calls.count(1) == 2
    assert len(speaker.played) == 2 and reader.available


@pytest.mark.parametrize(("status", "available"), [(503, False), (404, False), (502, True)])
@pytest.mark.asyncio
async def test_only_a_server_without_speech_turns_reading_off(status: int, available: bool) -> None:
    fetch = Fetch({0: [ApiError("no", status)]})
    reader = QuestionReader(fetch, Speaker(), lambda: None)
    await _read(reader, 0)
    assert reader.available is available
    reader.read(1)
    assert reader.reading is available  # a 502 was this question's failure, not the server's


@pytest.mark.asyncio
async def test_stopping_a_reading_mid_fetch_keeps_the_fetch_for_a_repeat() -> None:
    fetch = Fetch({}, delay=0.2)
    speaker = Speaker()
    reader = QuestionReader(fetch, speaker, lambda: None, question_count=1)
    reader.read(0)
    await asyncio.sleep(0.05)
    reader.stop()  # "Start answering" while the question was still being fetched
    assert not reader.reading
    await _read(reader, 0)  # "Repeat the question"
    assert fetch.calls == [0] and len(speaker.played) == 1


@pytest.mark.asyncio
async def test_a_speaker_that_never_finishes_does_not_hold_the_recording_forever(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kiosk.core import question_reader

    class Stuck(Speaker):
        async def play(self, pcm: bytes, rate: int) -> None:
            await asyncio.Event().wait()

    monkeypatch.setattr(question_reader, "PLAY_SLACK_SECONDS", 0.2)
    reader = QuestionReader(Fetch({}), Stuck(), lambda: None)
    await _read(reader, 0)  # 0.2 s of speech + 0.2 s of slack, then the reading ends
    assert reader.available


@pytest.mark.parametrize(
    "data", [_wav(channels=2), b"RIFF....WAVEfmt nonsense", b""], ids=["stereo", "bad", "empty"]
)
def test_speech_that_is_not_mono_16_bit_wav_is_refused(data: bytes) -> None:
    with pytest.raises(ValueError):
        decode_wav(data)
