"""Routes under ``/api/v1`` (and the planning routes' legacy home under ``/api``)."""

from fastapi import APIRouter

from backend.app.api.v1 import applications, auth, interviews, job_postings, proctor, reviews

router = APIRouter(prefix="/api/v1")
for module in (auth, job_postings, applications, interviews, proctor, reviews):
    router.include_router(module.router)
router.include_router(interviews.planning_router)

legacy_router = APIRouter(prefix="/api")
legacy_router.include_router(interviews.planning_router)
