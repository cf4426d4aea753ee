"""Messages the API answers with: shared by services, OpenAPI descriptions and tests."""

NOT_AUTHENTICATED = "Not authenticated"
INVALID_TOKEN = "Invalid or expired token"
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


def application_not_found(application_id: object) -> str:
    return f"Application {application_id} not found"


def posting_not_found(posting_id: object) -> str:
    return f"Job posting {posting_id} not found"


def interview_not_found(interview_id: object) -> str:
    return f"Interview {interview_id} not found"


def resume_not_found(resume_id: object) -> str:
    return f"Resume {resume_id} not found"


def candidate_not_found(email: str) -> str:
    return f"No candidate with email {email}"
