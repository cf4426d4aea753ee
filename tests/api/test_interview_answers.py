"""What reviewers get of each answer (issue 14), over real HTTP: every take in the interview's
detail, and the kept take as a WAV file, whole or by byte range.

The stream that would record the takes is covered in tests/stream; here the recording and the
take rows are written as the stream service would have left them, so each byte is known.
"""

from __future__ import annotations

import asyncio
import io
import random
import uuid
import wave
from dataclasses import dataclass

import pytest

from backend.app.core.db import create_engine, create_sessionmaker
from backend.app.models import AnswerTake
from backend.app.repositories import interviews as interview_rows
from backend.app.services.interviews import no_kept_answer, no_such_question
from backend.app.services.streaming.protocol import ENCODING
from backend.app.services.streaming.recording import recording_path
from support.api import Actor, Api, World

RATE = 16000
BYTES_PER_SECOND = RATE * 2  # mono, 16-bit
ASKED = 16000  # 0.5 s: question 0 appears
TAKE_1 = (32000, 96000)  # 1 s to 3 s: thinking ran out, then the candidate ended it
TAKE_2 = (96000, 160000)  # 3 s to 5 s: "Try again", ended by the answer limit, kept
RECORDING_BYTES = 200000
WAV_HEADER = 44
KEPT_WAV_BYTES = WAV_HEADER + TAKE_2[1] - TAKE_2[0]


@dataclass(frozen=True)
class Answered:
    """An interview whose question 0 has two takes, the second kept; the rest unanswered."""

    id: str
    recording: bytes

    def answer_path(self, index: int) -> str:
        return f"/api/v1/interviews/{self.id}/questions/{index}/answer"

    @property
    def kept(self) -> bytes:
        return self.recording[TAKE_2[0] : TAKE_2[1]]


@pytest.fixture(scope="module")
def answered(shared_api: Api, shared_world: World) -> Answered:
    started = shared_api.request(
        "POST", "/api/v1/interviews/start", shared_world.owner, json={"role_type": "python"}
    )
    assert started.status_code == 201, started.text
    interview_id = started.json()["id"]
    # Noise, so any misplaced byte shows.
    recording = random.Random(14).randbytes(RECORDING_BYTES)
    path = recording_path(shared_api.server.settings.data_dir, interview_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(recording)
    asyncio.run(_record_two_takes(shared_api, uuid.UUID(interview_id), shared_world.proctor.id))
    return Answered(interview_id, recording)


async def _record_two_takes(api: Api, interview_id: uuid.UUID, proctor_id: uuid.UUID) -> None:
    """What the stream service commits for a hello, question 0's two takes and keeping the
    second, with an x1.5 accommodation granted at launch."""
    engine = create_engine(api.server.settings)
    try:
        async with create_sessionmaker(engine)() as session:
            interview = await interview_rows.get_with_questions(session, interview_id)
            assert interview is not None
            interview.audio_encoding = ENCODING
            interview.audio_sample_rate = RATE
            interview.audio_channels = 1
            interview.accommodation = "x1.5"
            interview.accommodation_granted_by = proctor_id
            first = interview.questions[0]
            first.asked_offset = ASKED
            first.answer_takes.extend([
                AnswerTake(take=1, start_offset=TAKE_1[0], started_by="limit",
                           end_offset=TAKE_1[1], end_reason="candidate"),
                AnswerTake(take=2, start_offset=TAKE_2[0], started_by="candidate",
                           end_offset=TAKE_2[1], end_reason="limit"),
            ])  # fmt: skip
            first.kept_take = 2
            first.answer_start_offset, first.answer_end_offset = TAKE_2
            await session.commit()
    finally:
        await engine.dispose()


def _wav(body: bytes) -> tuple[tuple[int, int, int, int], bytes]:
    """The WAV's (channels, sample width, rate, frames) as its header says, and its frames."""
    with wave.open(io.BytesIO(body), "rb") as reader:
        shape = (reader.getnchannels(), reader.getsampwidth(), reader.getframerate(),
                 reader.getnframes())  # fmt: skip
        return shape, reader.readframes(reader.getnframes())


# --- the interview's detail ------------------------------------------------------------------


def test_detail_lists_each_take_with_its_span_how_it_ended_and_whether_it_was_kept(
    shared_api: Api, shared_world: World, answered: Answered
) -> None:
    response = shared_api.request("GET", f"/api/v1/interviews/{answered.id}", shared_world.owner)
    assert response.status_code == 200, response.text
    first = response.json()["questions"][0]
    assert first["asked_seconds"] == 0.5
    assert (first["answer_start_seconds"], first["answer_end_seconds"]) == (3.0, 5.0)
    assert first["kept_take"] == 2
    assert first["answer_takes"] == [
        {"take": 1, "start_seconds": 1.0, "end_seconds": 3.0, "seconds": 2.0,
         "started_by": "limit", "end_reason": "candidate", "kept": False},
        {"take": 2, "start_seconds": 3.0, "end_seconds": 5.0, "seconds": 2.0,
         "started_by": "candidate", "end_reason": "limit", "kept": True},
    ]  # fmt: skip


def test_detail_gives_each_questions_planned_rules_and_no_takes_before_it_is_answered(
    shared_api: Api, shared_world: World, answered: Answered
) -> None:
    detail = shared_api.request("GET", f"/api/v1/interviews/{answered.id}", shared_world.owner)
    questions = detail.json()["questions"]
    # A practice interview is planned with the defaults.
    assert {(q["think_seconds"], q["answer_seconds"], q["takes"]) for q in questions} == {
        (30, 180, 1)
    }
    second = questions[1]
    assert second["answer_takes"] == []
    assert second["kept_take"] is None
    assert second["asked_seconds"] is None


def test_detail_shows_the_accommodation_and_the_proctor_who_granted_it(
    shared_api: Api, shared_world: World, answered: Answered
) -> None:
    detail = shared_api.request("GET", f"/api/v1/interviews/{answered.id}", shared_world.admin)
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert body["accommodation"] == "x1.5"
    assert body["accommodation_granted_by"] == str(shared_world.proctor.id)


# --- the kept take as WAV ---------------------------------------------------------------------


def test_answer_is_a_wav_of_the_kept_take_and_nothing_of_the_first(
    shared_api: Api, shared_world: World, answered: Answered
) -> None:
    response = shared_api.request("GET", answered.answer_path(0), shared_world.owner)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "audio/wav"
    assert response.headers["accept-ranges"] == "bytes"
    assert int(response.headers["content-length"]) == len(response.content) == KEPT_WAV_BYTES
    shape, frames = _wav(response.content)
    assert shape == (1, 2, RATE, (TAKE_2[1] - TAKE_2[0]) // 2)
    assert response.content[WAV_HEADER:] == frames == answered.kept
    first_take = answered.recording[TAKE_1[0] : TAKE_1[1]]
    assert first_take[:4096] not in response.content


@pytest.mark.parametrize(
    ("range_header", "first", "last"),
    [
        pytest.param("bytes=0-99", 0, 99, id="first-100-bytes"),
        pytest.param("bytes=40-1039", 40, 1039, id="across-the-header's-end"),
        pytest.param("bytes=20000-29999", 20000, 29999, id="middle"),
        pytest.param("bytes=-500", KEPT_WAV_BYTES - 500, KEPT_WAV_BYTES - 1, id="suffix"),
        pytest.param("bytes=60000-", 60000, KEPT_WAV_BYTES - 1, id="open-ended"),
        pytest.param("bytes=64000-99999999", 64000, KEPT_WAV_BYTES - 1, id="past-the-end"),
    ],
)
def test_a_byte_range_of_the_answer_is_sent_as_206_with_those_bytes(
    shared_api: Api,
    shared_world: World,
    answered: Answered,
    range_header: str,
    first: int,
    last: int,
) -> None:
    whole = shared_api.request("GET", answered.answer_path(0), shared_world.owner).content
    response = shared_api.request(
        "GET", answered.answer_path(0), shared_world.owner, headers={"Range": range_header}
    )
    assert response.status_code == 206, response.text
    assert response.headers["content-type"] == "audio/wav"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-range"] == f"bytes {first}-{last}/{KEPT_WAV_BYTES}"
    assert int(response.headers["content-length"]) == last - first + 1
    assert response.content == whole[first : last + 1]


def test_a_range_that_starts_past_the_end_is_refused_with_the_files_length(
    shared_api: Api, shared_world: World, answered: Answered
) -> None:
    for unsatisfiable in (f"bytes={KEPT_WAV_BYTES}-", f"bytes={KEPT_WAV_BYTES + 10}-99999999"):
        response = shared_api.request(
            "GET", answered.answer_path(0), shared_world.owner, headers={"Range": unsatisfiable}
        )
        assert response.status_code == 416, (unsatisfiable, response.text)
        assert response.headers["content-range"] == f"bytes */{KEPT_WAV_BYTES}"
        assert "detail" in response.json()


def test_a_range_header_it_does_not_understand_gets_the_whole_answer(
    shared_api: Api, shared_world: World, answered: Answered
) -> None:
    # RFC 9110 lets a server ignore these; the whole file is always a right answer.
    for ignored in ("bytes=0-9,20-29", "items=0-9", "bytes=9-0", "bytes=x-"):
        response = shared_api.request(
            "GET", answered.answer_path(0), shared_world.owner, headers={"Range": ignored}
        )
        assert response.status_code == 200, (ignored, response.text)
        assert len(response.content) == KEPT_WAV_BYTES


def test_a_question_the_interview_does_not_have_is_not_found(
    shared_api: Api, shared_world: World, answered: Answered
) -> None:
    for index in (5, 99, -1):
        response = shared_api.request("GET", answered.answer_path(index), shared_world.owner)
        assert response.status_code == 404, response.text
        assert response.json() == {"detail": no_such_question(answered.id, index)}


def test_a_question_with_no_kept_take_is_not_found(
    shared_api: Api, shared_world: World, answered: Answered
) -> None:
    response = shared_api.request("GET", answered.answer_path(1), shared_world.proctor)
    assert response.status_code == 404, response.text
    assert response.json() == {"detail": no_kept_answer(answered.id, 1)}


def test_another_candidate_may_not_hear_the_answer(
    shared_api: Api, shared_world: World, answered: Answered
) -> None:
    for headers in ({}, {"Range": "bytes=0-99"}):
        response = shared_api.request(
            "GET", answered.answer_path(0), shared_world.other, headers=headers
        )
        assert response.status_code == 403, response.text
    assert shared_api.request("GET", answered.answer_path(0)).status_code == 401


@pytest.mark.parametrize("reviewer", ["proctor", "admin"])
def test_proctors_and_admins_hear_the_kept_answer(
    shared_api: Api, shared_world: World, answered: Answered, reviewer: str
) -> None:
    staff: Actor = getattr(shared_world, reviewer)
    response = shared_api.request("GET", answered.answer_path(0), staff)
    assert response.status_code == 200, response.text
    assert response.content[WAV_HEADER:] == answered.kept
