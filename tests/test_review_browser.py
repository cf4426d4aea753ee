"""The review page in a real browser (issue 17): Debian's Chromium driven by Playwright, a
real backend (uvicorn on a thread, SQLite) whose worker transcribed three spoken answers
with the Whisper tiny.en model, two reviewers.

Set IK_REVIEW_SCREENSHOTS=DIR to keep the page's screenshots (the README's come from here).
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Response, expect, sync_playwright

from backend.app.core.config import Settings
from backend.app.models.enums import Role
from backend.app.server import BackgroundServer
from backend.app.services.answer_audio import wav_part
from support.api import Actor, Api
from support.review import (
    ANSWERS,
    STT_MODEL,
    all_in,
    answer_aloud,
    assign_reviewer,
    posting_of,
    spoken,
    wait_for_transcripts,
)
from support.stream import ruled_interview

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
BPS = 32000
RUBRIC = "Names a concrete change, what it cost and what it gained"


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data = tmp_path_factory.mktemp("review")
    settings = Settings(data_dir=data, speech_engine="none", stt_model=STT_MODEL,
                        stt_poll_seconds=0.2)  # fmt: skip
    server = BackgroundServer(settings).start()
    api = Api(server)
    try:
        first = api.make_user(Role.REVIEWER, "Fay First")
        second = api.make_user(Role.REVIEWER, "Sid Second")
        # The interview under test: three spoken answers, a rubric for the first question,
        # the third private (left out of share links).
        target = ruled_interview(
            api, think_seconds=None, answer_seconds=180, takes=1, candidate_name="Casey Candidate",
            question_rubrics=[RUBRIC], private_questions=[2],
        )  # fmt: skip
        asyncio.run(answer_aloud(target, spoken(ANSWERS, data)))
        assign_reviewer(api, posting_of(api, target), first, second)
        # Two more in the list: one whose seat failed its microphone check.
        for name, fit in (("Priya Raman", False), ("Jordan Lee", True)):
            extra = ruled_interview(api, think_seconds=None, answer_seconds=180, takes=1,
                                    candidate_name=name)  # fmt: skip
            checked = api.request(
                "POST", f"/api/v1/interviews/{extra.interview_id}/preflight", extra.candidate,
                json={"noise_floor_dbfs": -48.0, "speech_level_dbfs": -41.0 if not fit else -20.0,
                      "clipped_fraction": 0.0, "fit": fit,
                      "verdict": "Too quiet: move closer to the microphone and speak up."
                      if not fit else "The microphone is working well."},
            )  # fmt: skip
            assert checked.status_code == 200, checked.text
            asyncio.run(answer_aloud(extra, [bytes(BPS)] * 2))
            assign_reviewer(api, posting_of(api, extra), first, second)
        wait_for_transcripts(api, first, target.interview_id, all_in("done"))
        detail = api.request("GET", f"/api/v1/interviews/{target.interview_id}", first).json()
        yield {"api": api, "server": server, "target": target, "first": first,
               "second": second, "detail": detail}  # fmt: skip
    finally:
        api.http.close()
        server.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        # No one clicks "play" first in a test: let the page's own play() start the audio.
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--autoplay-policy=no-user-gesture-required"]
        )
        yield browser
        browser.close()


def sign_in(page: Page, base: str, who: Actor) -> None:
    page.goto(f"{base}/review")
    expect(page).to_have_url(f"{base}/review/sign-in")
    page.get_by_label("Email").fill(who.email)
    page.get_by_label("Password").fill(who.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/review")


def shoot(page: Page, name: str) -> None:
    folder = os.environ.get("IK_REVIEW_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / name), full_page=True)


def current_time(page: Page, index: int) -> float:
    return float(page.locator(f"#question-{index} audio").evaluate("a => a.currentTime"))


def rate_and_submit(page: Page, stars: list[int], recommendation: str) -> None:
    for index, star in enumerate(stars):
        page.locator(f'#question-{index} input[name="rating-{index}"][value="{star}"]').check()
        page.locator(f"#comment-{index}").fill(f"Answer {index + 1}: {star} of 5")
    page.get_by_label(recommendation.capitalize(), exact=True).check()
    page.get_by_label("Notes").fill("Seen in the browser test")
    with page.expect_navigation():
        page.get_by_role("button", name="Submit review").click()


def test_a_reviewer_listens_reads_rates_and_scores_blind(
    reviewed: dict[str, Any], chromium: Browser
) -> None:
    base, target, detail = reviewed["server"].url, reviewed["target"], reviewed["detail"]
    first = chromium.new_context(viewport={"width": 1366, "height": 768})
    page = first.new_page()
    sign_in(page, base, reviewed["first"])
    expect(page.locator("table.review-list tbody tr")).to_have_count(3)
    row = page.locator(
        "table.review-list tbody tr", has=page.get_by_role("link", name="Casey Candidate")
    )
    expect(row.locator(".badge")).to_have_text("New")
    priya = page.locator(
        "table.review-list tbody tr", has=page.get_by_role("link", name="Priya Raman")
    )
    expect(priya.locator(".flag")).to_have_text("microphone check failed")
    shoot(page, "review-1-list.png")

    # What the player is sent for question 2, as the browser receives it.
    served: list[tuple[int, int, bytes]] = []

    def keep(response: Response) -> None:
        if re.search(r"/questions/1/answer$", response.url) and response.status in (200, 206):
            span = response.headers.get("content-range", f"bytes 0-/{0}")
            first_byte = int(span.split()[1].split("-")[0]) if response.status == 206 else 0
            body = response.body()
            served.append((first_byte, len(body), body))

    page.on("response", keep)
    row.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Question 2 of 5")).to_be_visible()
    expect(page.locator("#question-0 .rubric")).to_have_text(RUBRIC)
    expect(page.locator("#q2-heading .private")).to_have_text("private: not in share links")
    expect(page.locator("#others-hidden")).to_be_visible()
    expect(page.locator(".other-rating")).to_have_count(0)

    # Opening the page fetches no answer (preload="none"): no listen is recorded yet.
    api: Api = reviewed["api"]
    admin = api.make_user(Role.ADMIN)
    activity = f"/api/v1/interviews/{target.interview_id}/review-activity"

    def listened() -> list[int]:
        entries = api.request("GET", activity, admin).json()
        return [e["details"]["question_index"] for e in entries if e["action"] == "answer_played"]

    assert listened() == []
    # Play question 2: its clock advances.
    audio = page.locator("#question-1 audio")
    audio.evaluate("a => a.play()")
    page.wait_for_function(
        "() => document.querySelector('#question-1 audio').currentTime > 0.5", timeout=10_000
    )
    audio.evaluate("a => a.pause()")
    assert set(listened()) == {1}  # that answer's listen is recorded, and no other
    # The bytes served are that answer's span of the recording, behind a WAV header.
    question = detail["questions"][1]
    start, end = (
        int(question["answer_start_seconds"] * BPS),
        int(question["answer_end_seconds"] * BPS),
    )
    recording = (reviewed["server"].settings.data_dir / "recordings"
                 / f"{target.interview_id}.pcm").read_bytes()  # fmt: skip
    part = wav_part(start, end, 16000, 1, None)
    expected = part.header_bytes + recording[start:end]
    assert served, "the player fetched nothing"
    for first_byte, length, body in served:
        assert body == expected[first_byte : first_byte + length]
    assert any(first_byte == 0 and length >= 44 for first_byte, length, _ in served)

    # Click a word of the transcript: the player seeks to its time.
    word = page.locator("#question-1 button.word").nth(6)
    at = float(word.get_attribute("data-start") or "nan")
    assert at > 1.0  # past the silence before the answer
    word.click()
    page.wait_for_function(
        "() => !document.querySelector('#question-1 audio').paused", timeout=5_000
    )
    landed = current_time(page, 1)
    print(f"word at {at:.2f} s: the player is at {landed:.3f} s ({landed - at:+.3f} s)")
    assert abs(landed - at) <= 0.3
    # 1.5x speed is the player's.
    page.locator('#question-1 button.speed[data-speed="1.5"]').click()
    assert page.locator("#question-1 audio").evaluate("a => a.playbackRate") == 1.5
    shoot(page, "review-2-interview.png")

    rate_and_submit(page, [4, 5, 3], "advance")
    expect(page.locator("#form-status")).to_contain_text("Submitted")
    expect(page.get_by_text("No other reviewer has submitted yet.")).to_be_visible()
    expect(page.locator("#question-0 input[value='4']")).to_be_checked()

    # The second reviewer sees no rating before submitting: not on the page, not in the list.
    second = chromium.new_context(viewport={"width": 1366, "height": 768})
    other = second.new_page()
    sign_in(other, base, reviewed["second"])
    casey = other.locator(
        "table.review-list tbody tr", has=other.get_by_role("link", name="Casey Candidate")
    )
    expect(casey.locator("td.num").last).to_contain_text("hidden")
    casey.get_by_role("link").click()
    expect(other.locator("#others-hidden")).to_be_visible()
    expect(other.locator(".other-rating")).to_have_count(0)
    expect(other.locator(".average")).to_have_count(0)
    rate_and_submit(other, [2, 3, 3], "hold")
    expect(other.locator(".other-review h4")).to_have_text("Fay First · Advance")
    expect(other.locator(".other-rating")).to_have_text(["4", "5", "3"])
    expect(other.locator("#question-0 .average")).to_contain_text("3.0")

    # And the first now sees the second's.
    page.reload()
    expect(page.locator(".other-review h4")).to_have_text("Sid Second · Hold")
    expect(page.locator(".other-rating")).to_have_text(["2", "3", "3"])
    page.goto(f"{base}/review")
    expect(row.locator(".badge")).to_have_text("Reviewed")
    shoot(page, "review-3-list-reviewed.png")
    first.close()
    second.close()


def test_a_share_link_shows_a_manager_the_interview_until_it_is_revoked(
    reviewed: dict[str, Any], chromium: Browser
) -> None:
    base, target, detail = reviewed["server"].url, reviewed["target"], reviewed["detail"]
    context = chromium.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    sign_in(page, base, reviewed["first"])
    page.goto(f"{base}/review/interviews/{target.interview_id}")
    page.get_by_role("button", name="Make a link").click()
    expect(page.locator("#share-url")).to_be_visible()
    url = page.locator("#share-url").inner_text()
    assert url.startswith(f"{base}/shared/iks_")

    manager = chromium.new_context(viewport={"width": 1366, "height": 768})  # no account
    shared = manager.new_page()
    shared.goto(url)
    expect(shared.get_by_role("heading", name="Casey Candidate")).to_be_visible()
    expect(shared.locator("section.question")).to_have_count(4)  # the private one left out
    expect(shared.get_by_text(detail["questions"][2]["text"])).to_have_count(0)
    expect(shared.locator("input[type=radio], textarea, .other-review")).to_have_count(0)
    shared.locator("#question-0 audio").evaluate("a => a.play()")
    shared.wait_for_function(
        "() => document.querySelector('#question-0 audio').currentTime > 0.3", timeout=10_000
    )
    shoot(shared, "review-4-shared.png")

    page.reload()
    page.locator("button.revoke-link").first.click()
    expect(page.locator(".share-links li").first).to_contain_text("revoked")  # after the reload
    response = shared.goto(url)
    assert response is not None and response.status == 404
    expect(shared.get_by_role("alert")).to_contain_text("expired or was withdrawn")
    manager.close()
    context.close()


def test_the_page_refuses_a_reviewer_of_another_posting(
    reviewed: dict[str, Any], chromium: Browser
) -> None:
    api: Api = reviewed["api"]
    outsider = api.make_user(Role.REVIEWER, "Otto Outsider")
    context = chromium.new_context()
    page = context.new_page()
    sign_in(page, reviewed["server"].url, outsider)
    expect(page.get_by_text("No completed interviews to review yet.")).to_be_visible()
    started = time.monotonic()
    response = page.goto(
        f"{reviewed['server'].url}/review/interviews/{reviewed['target'].interview_id}"
    )
    assert response is not None and response.status == 403
    expect(page.get_by_role("alert")).to_contain_text("reviewers assigned")
    assert time.monotonic() - started < 5
    context.close()
