"""Reviews (issue 17): ratings per answer, a recommendation, blind scoring (nobody sees the
others' ratings before submitting their own), the review list's status and averages, and the
refusals. On SQLite and again on PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from backend.app.models.enums import Role
from support.api import Actor, Api
from support.review import answer_aloud, assign_reviewer, posting_of
from support.stream import StreamTarget, ruled_interview

SECOND_OF_SILENCE = bytes(32000)


def completed_interview(api: Api, answers: int = 3) -> StreamTarget:
    target = ruled_interview(api, think_seconds=None, answer_seconds=180, takes=1)
    asyncio.run(answer_aloud(target, [SECOND_OF_SILENCE] * answers))
    return target


def reviews(api: Api, who: Actor, target: StreamTarget) -> dict[str, Any]:
    response = api.request("GET", f"/api/v1/interviews/{target.interview_id}/reviews", who)
    assert response.status_code == 200, response.text
    return dict(response.json())


def save(api: Api, who: Actor, target: StreamTarget, **body: Any) -> Any:
    return api.request("PUT", f"/api/v1/interviews/{target.interview_id}/review", who, json=body)


def rated(*stars: int) -> list[dict[str, Any]]:
    return [{"question_index": i, "rating": s, "comment": f"q{i}"} for i, s in enumerate(stars)]


def queue_row(api: Api, who: Actor, target: StreamTarget) -> dict[str, Any]:
    response = api.request("GET", "/api/v1/reviews", who)
    assert response.status_code == 200, response.text
    return next(r for r in response.json() if r["interview_id"] == target.interview_id)


def test_other_reviewers_ratings_stay_hidden_until_you_submit_yours(api: Api) -> None:
    target = completed_interview(api)
    first = api.make_user(Role.REVIEWER, "Fay First")
    second = api.make_user(Role.REVIEWER, "Sid Second")
    assign_reviewer(api, posting_of(api, target), first, second)
    assert queue_row(api, first, target)["status"] == "new"

    # A draft is kept as sent, and hides nothing more than before.
    draft = save(api, first, target, ratings=rated(4, 2), notes="Clear on deployments")
    assert draft.status_code == 200, draft.text
    body = draft.json()
    assert body["mine"]["submitted_at"] is None
    assert [r["rating"] for r in body["mine"]["ratings"]] == [4, 2]
    assert (body["others_hidden"], body["others"], body["average_by_question"]) == (True, [], {})
    row = queue_row(api, first, target)
    assert (row["status"], row["my_review"], row["average_rating"]) == ("in_review", "draft", None)

    # Submitting needs every answered question rated and a recommendation.
    refused = save(api, first, target, ratings=rated(4, 2), submit=True)
    assert refused.status_code == 400
    assert refused.json()["detail"] == (
        "Before submitting, rate question 3 and choose a recommendation (advance, hold or reject)"
    )
    submitted = save(api, first, target, ratings=rated(4, 2, 5), recommendation="advance",
                     notes="Strong", submit=True).json()  # fmt: skip
    assert submitted["mine"]["submitted_at"] is not None
    assert submitted["others_hidden"] is False and submitted["others"] == []
    assert submitted["average_by_question"] == {"0": 4.0, "1": 2.0, "2": 5.0}

    # The second reviewer sees nothing of the first's before submitting: not in the
    # interview's reviews, not in the list's average.
    before = reviews(api, second, target)
    assert (before["mine"], before["others_hidden"], before["others"]) == (None, True, [])
    assert before["average_by_question"] == {}
    row = queue_row(api, second, target)
    assert (row["my_review"], row["average_rating"]) == ("none", None)
    save(api, second, target, ratings=rated(2, 2, 3), recommendation="hold", submit=True)

    # Both now see both, and the interview is reviewed.
    after = reviews(api, second, target)
    assert [o["reviewer_name"] for o in after["others"]] == ["Fay First"]
    assert after["others"][0]["recommendation"] == "advance"
    assert after["others"][0]["ratings"][0] == {"question_index": 0, "rating": 4, "comment": "q0"}
    assert after["average_by_question"] == {"0": 3.0, "1": 2.0, "2": 4.0}
    assert [o["reviewer_name"] for o in reviews(api, first, target)["others"]] == ["Sid Second"]
    row = queue_row(api, first, target)
    assert (row["status"], row["my_review"], row["average_rating"]) == (
        "reviewed", "submitted", pytest.approx(3.0),
    )  # fmt: skip
    # Admins oversee: they see every submitted review without scoring.
    admin_view = reviews(api, api.make_user(Role.ADMIN), target)
    assert admin_view["others_hidden"] is False and len(admin_view["others"]) == 2

    # A submitted review is final: else one could submit anything, read the others, and
    # rewrite it. Neither a new submission nor a draft over it is kept.
    for submit in (True, False):
        changed = save(api, first, target, ratings=rated(1, 1, 1), recommendation="reject",
                       submit=submit)  # fmt: skip
        assert changed.status_code == 409
        assert (
            changed.json()["detail"] == "Your review is submitted, and a submitted review is final"
        )
    kept = reviews(api, first, target)["mine"]
    assert [r["rating"] for r in kept["ratings"]] == [4, 2, 5]
    assert kept["submitted_at"] == submitted["mine"]["submitted_at"]


def test_reviews_refuse_what_cannot_be_kept_and_who_may_not_review(api: Api) -> None:
    target = completed_interview(api, answers=2)
    reviewer = assign_reviewer(api, posting_of(api, target))
    twice = [{"question_index": 0, "rating": 3}, {"question_index": 0, "rating": 4}]
    assert save(api, reviewer, target, ratings=twice).status_code == 400
    unknown = save(api, reviewer, target, ratings=[{"question_index": 9, "rating": 3}])
    assert unknown.status_code == 400
    assert unknown.json()["detail"] == "This interview has no question with index 9"
    for bad in (0, 6, "five", None):
        response = save(api, reviewer, target, ratings=[{"question_index": 0, "rating": bad}])
        assert response.status_code == 422, bad
    assert save(api, reviewer, target, recommendation="maybe").status_code == 422
    assert save(api, reviewer, target, notes="x" * 5001).status_code == 422

    for outsider in (
        target.candidate,  # candidates never see evaluations, their own least of all
        api.make_user(Role.PROCTOR),
        api.make_user(Role.REVIEWER),  # of other postings
    ):
        assert save(api, outsider, target, ratings=rated(5, 5)).status_code == 403
        path = f"/api/v1/interviews/{target.interview_id}/reviews"
        assert api.request("GET", path, outsider).status_code == 403
    assert api.request("GET", "/api/v1/reviews", target.candidate).status_code == 403
    # An unassigned reviewer's list holds nothing of this posting.
    assert api.request("GET", "/api/v1/reviews", api.make_user(Role.REVIEWER)).json() == []
    # Nothing the refusals sent was kept.
    assert reviews(api, reviewer, target)["mine"] is None


def test_a_postings_reviews_export_as_csv_with_blind_scoring_kept(api: Api) -> None:
    import csv
    import io

    target = ruled_interview(api, think_seconds=None, answer_seconds=180, takes=1,
                             candidate_name="=HYPERLINK(\"http://x\")")  # fmt: skip
    asyncio.run(answer_aloud(target, [SECOND_OF_SILENCE] * 2))
    posting = posting_of(api, target)
    first, second, late = (api.make_user(Role.REVIEWER) for _ in range(3))
    assign_reviewer(api, posting, first, second, late)
    save(api, first, target, ratings=rated(4, 2), recommendation="advance", submit=True)
    save(api, second, target, ratings=rated(3, 5), recommendation="hold", submit=True)
    path = f"/api/v1/job-postings/{posting}/reviews.csv"

    def rows(who: Actor) -> list[dict[str, str]]:
        response = api.request("GET", path, who)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        return list(csv.DictReader(io.StringIO(response.text)))

    [row] = rows(first)
    assert row["candidate"] == '\'=HYPERLINK("http://x")'  # text in a spreadsheet, not a formula
    assert (row["interview_id"], row["reviews"]) == (target.interview_id, "2")
    assert (row["q1_average"], row["q2_average"], row["q3_average"]) == ("3.50", "3.50", "")
    assert (row["average"], row["recommendations"]) == ("3.50", "advance 1; hold 1")
    assert rows(api.make_user(Role.ADMIN)) == [row]
    # A reviewer who has not submitted sees who is there, not what others gave.
    [blind] = rows(late)
    assert (blind["q1_average"], blind["average"], blind["recommendations"]) == (
        "hidden", "hidden", "hidden",
    )  # fmt: skip
    assert api.request("GET", path, api.make_user(Role.REVIEWER)).status_code == 403
    assert api.request("GET", path, target.candidate).status_code == 403
    unknown = f"/api/v1/job-postings/{uuid.uuid4()}/reviews.csv"
    assert api.request("GET", unknown, late).status_code == 403  # not even whether it exists
    assert api.request("GET", unknown, api.make_user(Role.ADMIN)).status_code == 404
