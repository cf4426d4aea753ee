"""Messages the API answers with: shared by services, OpenAPI descriptions and tests."""

NOT_AUTHENTICATED = "Not authenticated"
INVALID_TOKEN = "Invalid or expired token"
TOKEN_REVOKED = "This sign-in has ended; sign in again"
BAD_CREDENTIALS = "Incorrect email or password"
TOO_MANY_ATTEMPTS = "Too many failed sign-in attempts; try again later"
EMAIL_TAKEN = "An account with this email already exists"
STAFF_ONLY = "Only proctors and admins may do this"
ADMIN_ONLY = "Only admins may do this"
CANDIDATES_ONLY = "Only candidates may do this"
NEED_APPLICATION_OR_ROLE = "Either application_id or role_type must be provided"
APPLICATION_FORBIDDEN = "Not authorized to access this application"
INTERVIEW_FORBIDDEN = "Not authorized to access this interview"
POSTING_NOT_ACTIVE = "Job posting is not active"
ALREADY_APPLIED = "You have already applied to this job posting"
RESUME_FORBIDDEN = "Not authorized to use this resume"
REVIEW_FORBIDDEN = (
    "Only admins, and reviewers assigned to the interview's job posting once it is completed, "
    "may review it"
)


INTERVIEW_UNDER_WAY = (
    "One of this candidate's interviews is under way: end the session first, then delete"
)
SHARE_LINK_GONE = "This link has expired or was withdrawn: ask whoever sent it for a new one"
REVIEW_PAGE_ONLY = "Only reviewers and admins can use the review page"
RECORDING_NOT_FOR_REVIEWERS = (
    "Reviewers hear the kept answers (questions/{index}/answer), not the whole recording"
)
MEDIA_DELETED = "This interview's audio was deleted at the end of its retention period"
INTERVIEW_NOT_COMPLETED = "Only a completed interview can be shared"
REVIEW_FINAL = "Your review is submitted, and a submitted review is final"
REVIEW_SAVED_ELSEWHERE = "Your review was just saved from another tab or window: reload the page"
RATED_TWICE = "Each question can be rated once per review"


def no_such_questions(indices: list[int]) -> str:
    return f"This interview has no question with index {', '.join(str(i) for i in indices)}"


def incomplete_review(unrated: list[int], no_recommendation: bool) -> str:
    needs = []
    if unrated:
        needs.append(f"rate question {', '.join(str(i + 1) for i in unrated)}")
    if no_recommendation:
        needs.append("choose a recommendation (advance, hold or reject)")
    return f"Before submitting, {' and '.join(needs)}"


def not_a_reviewer(user_id: object) -> str:
    return f"User {user_id} is not an active reviewer account"


def application_not_found(application_id: object) -> str:
    return f"Application {application_id} not found"


def posting_not_found(posting_id: object) -> str:
    return f"Job posting {posting_id} not found"


def interview_not_found(interview_id: object) -> str:
    return f"Interview {interview_id} not found"


def resume_not_found(resume_id: object) -> str:
    return f"Resume {resume_id} not found"


def share_link_not_found(link_id: object) -> str:
    return f"No share link {link_id}"


def candidate_id_not_found(user_id: object) -> str:
    return f"No candidate {user_id}"


def candidate_not_found(email: str) -> str:
    return f"No candidate with email {email}"


KIOSK_CREDENTIAL_REFUSED = "Kiosk credentials are for the control channel only"
KIOSK_NOT_ENROLLED = "This kiosk is not enrolled, or its credential is wrong"
NO_TEST_CENTER = "Your account is not assigned to a test center; ask an admin"
OTHER_TEST_CENTER = "That seat belongs to another test center"
CONSOLE_STAFF_ONLY = "Only proctors and admins can use the room console"
CSRF_MISSING = "The form has expired or was not sent from the console; reload the page"
NO_TEST_CENTERS = "No test center exists yet: enroll a kiosk first"


def seat_not_found(kiosk_id: str) -> str:
    return f"No seat {kiosk_id} in this test center"


def alert_not_found(alert_id: str) -> str:
    return f"No open alert {alert_id}"


def test_center_not_found(center: str) -> str:
    return f"No test center {center}"


def no_interview_at(kiosk_id: str) -> str:
    return f"{kiosk_id} has no interview under way"


def extra_time_shrinks(new: str, granted: str) -> str:
    return (
        f"{new} would shorten the {granted} already granted: extra time can only grow "
        "during an interview"
    )
