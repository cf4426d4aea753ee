"""Demo data for `make run` / `make serve`: staff, candidates, postings and applications.

Passwords are generated on every run and printed, never stored in code; re-running resets the
demo accounts' passwords and adds only what is missing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app.core import security
from backend.app.models import Application, JobPosting, PostingReviewer, User
from backend.app.models.enums import Role
from backend.app.services.kiosks import ensure_test_center

DEMO_USERS = [
    ("admin@demo.interview-kiosk.test", "Ada Admin", Role.ADMIN),
    ("proctor@demo.interview-kiosk.test", "Pat Proctor", Role.PROCTOR),
    ("reviewer@demo.interview-kiosk.test", "Rae Reviewer", Role.REVIEWER),
    ("alex@demo.interview-kiosk.test", "Alex Candidate", Role.CANDIDATE),
    ("sam@demo.interview-kiosk.test", "Sam Candidate", Role.CANDIDATE),
    ("jo@demo.interview-kiosk.test", "Jo Candidate", Role.CANDIDATE),
]

DEMO_POSTINGS = [
    dict(
        title="Platform Engineer", company="Northwind Cloud", role_category="DevOps",
        tech_stack=["Kubernetes", "Terraform", "AWS"], required_skills=["kubernetes", "terraform"],
        experience_level="senior",
        description="Run our Kubernetes platform and its Terraform-managed AWS infrastructure.",
    ),
    dict(
        title="Backend Developer", company="Contoso Health", role_category="Engineering",
        tech_stack=["Python", "FastAPI", "PostgreSQL"], required_skills=["python", "sql"],
        experience_level="mid", description="Build the APIs behind our patient scheduling.",
    ),
    dict(
        title="Frontend Engineer", company="Fabrikam Retail", role_category="Engineering",
        tech_stack=["React", "TypeScript"], required_skills=["react", "accessibility"],
        experience_level="mid", description="Own the storefront's React front end.",
    ),
    dict(
        title="Account Executive", company="Tailspin Software", role_category="Sales",
        tech_stack=[], required_skills=["b2b_sales", "negotiation"], experience_level="mid",
        description="Close mid-market deals for our scheduling product.",
    ),
    dict(
        title="Customer Support Specialist", company="Wingtip Travel", role_category="Support",
        tech_stack=[], required_skills=["customer_support", "de_escalation"],
        experience_level="junior", description="Help travellers by phone and chat.",
    ),
    dict(
        title="Product Manager", company="Litware Labs", role_category="Product Manager",
        tech_stack=[], required_skills=["roadmapping", "user_research"], experience_level="senior",
        description="Lead discovery and the roadmap for our analytics product.",
        status="closed",
    ),
]  # fmt: skip

# Which demo candidate applies to which postings (by index in DEMO_POSTINGS).
DEMO_APPLICATIONS = {
    "alex@demo.interview-kiosk.test": [0, 1, 5],
    "sam@demo.interview-kiosk.test": [2, 3],
    "jo@demo.interview-kiosk.test": [4],
}


@dataclass(frozen=True)
class DemoCredential:
    email: str
    password: str
    role: Role


# The test center a kiosk with kiosk.toml's defaults enrolls in (kiosks.center_id_for of
# "Test center"): the demo proctor watches its room.
DEMO_TEST_CENTER = ("test-center", "Test center")


async def seed_demo(session: AsyncSession) -> list[DemoCredential]:
    credentials: list[DemoCredential] = []
    center = await ensure_test_center(session, *DEMO_TEST_CENTER)
    users: dict[str, User] = {}
    for email, name, role in DEMO_USERS:
        password = secrets.token_urlsafe(9)
        password_hash = await security.hash_password(password)
        user = await session.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(email=email, full_name=name, role=role.value, password_hash=password_hash)
            session.add(user)
        else:
            user.password_hash = password_hash
        if role is Role.PROCTOR:
            user.test_center_id = center.id
        users[email] = user
        credentials.append(DemoCredential(email, password, role))
    postings: list[JobPosting] = []
    for values in DEMO_POSTINGS:
        posting = await session.scalar(
            select(JobPosting).where(
                JobPosting.title == values["title"], JobPosting.company == values["company"]
            )
        )
        if posting is None:
            posting = JobPosting(**values)
            session.add(posting)
        postings.append(posting)
    await session.flush()
    # The demo reviewer reviews every demo posting.
    reviewer = users["reviewer@demo.interview-kiosk.test"]
    for posting in postings:
        if await session.get(PostingReviewer, (posting.id, reviewer.id)) is None:
            session.add(PostingReviewer(job_posting_id=posting.id, user_id=reviewer.id))
    for email, indexes in DEMO_APPLICATIONS.items():
        for index in indexes:
            candidate, posting = users[email], postings[index]
            exists = await session.scalar(
                select(Application.id).where(
                    Application.candidate_id == candidate.id,
                    Application.job_posting_id == posting.id,
                )
            )
            if exists is None:
                session.add(Application(candidate_id=candidate.id, job_posting_id=posting.id))
    await session.commit()
    return credentials
