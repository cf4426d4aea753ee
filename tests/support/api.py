"""A client for the live backend and the small world of accounts the API tests share."""

from __future__ import annotations

import asyncio
import re
import ssl
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from backend.app.core.config import Settings
from backend.app.core.db import create_engine, create_sessionmaker
from backend.app.models.enums import Role
from backend.app.server import BackgroundServer
from backend.app.services.auth import create_user


@dataclass
class Actor:
    id: uuid.UUID
    email: str
    password: str
    role: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Api:
    """The live server over real HTTP. ``as_`` picks whose token goes with the request."""

    def __init__(self, server: BackgroundServer, verify: ssl.SSLContext | bool = True) -> None:
        self.server = server
        self.url = server.url
        self.http = httpx.Client(base_url=server.url, timeout=30, verify=verify)

    def request(
        self, method: str, path: str, as_: Actor | str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if isinstance(as_, Actor):
            headers.update(as_.headers)
        elif isinstance(as_, str):
            headers["Authorization"] = f"Bearer {as_}"
        return self.http.request(method, path, headers=headers, **kwargs)

    def login(self, email: str, password: str) -> str:
        response = self.request(
            "POST", "/api/v1/auth/login", json={"email": email, "password": password}
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def make_user(self, role: Role, name: str | None = None) -> Actor:
        email = f"{role.value}-{uuid.uuid4().hex[:8]}@example.com"
        password = f"pw-{uuid.uuid4().hex}"
        if role is Role.CANDIDATE:
            response = self.request(
                "POST", "/api/v1/auth/register",
                json={"email": email, "password": password, "full_name": name or "Casey Candidate"},
            )  # fmt: skip
            assert response.status_code == 201, response.text
            user_id = uuid.UUID(response.json()["id"])
        else:
            # On a thread of its own: callers may be sync tests or async ones (a running loop).
            with ThreadPoolExecutor(1) as pool:
                user_id = pool.submit(
                    asyncio.run, _create_staff(self.server.settings, email, password, role, name)
                ).result()
        return Actor(user_id, email, password, role.value, self.login(email, password))


async def _create_staff(
    settings: Settings, email: str, password: str, role: Role, name: str | None
) -> uuid.UUID:
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            user = await create_user(session, email, password, name or role.value.title(), role)
            return user.id
    finally:
        await engine.dispose()


@dataclass
class World:
    admin: Actor
    proctor: Actor
    owner: Actor  # a candidate with applications
    other: Actor  # another candidate
    posting: dict[str, Any]  # active DevOps posting requiring kubernetes and terraform
    closed_posting: dict[str, Any]
    application: dict[str, Any]  # owner -> posting
    other_application: dict[str, Any]  # other -> posting
    extras: dict[str, Any] = field(default_factory=dict)


# What an admin's posting answer has and the list everyone reads does not (issue 17).
ADMIN_ONLY_FIELDS = frozenset({"retention_days", "private_questions", "question_rubrics"})

PLATFORM_POSTING = {
    "title": "Platform Engineer",
    "company": "Northwind Cloud",
    "description": "Run our Kubernetes platform. " * 40,
    "role_category": "DevOps",
    "tech_stack": ["Kubernetes", "Terraform", "AWS"],
    "required_skills": ["kubernetes", "terraform"],
    "experience_level": "senior",
}


def signed_in_page(api: Api, who: Actor, area: str) -> httpx.Client:
    """A browser-like client signed in to a staff page (``area``: "console" or "review")
    through its form, with the cookie's protections checked on the way."""
    client = httpx.Client(base_url=api.url, timeout=30)
    form = client.get(f"/{area}/sign-in")
    assert form.status_code == 200, form.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, form.text
    response = client.post(f"/{area}/sign-in", data={
        "email": who.email, "password": who.password, "csrf_token": token.group(1)})  # fmt: skip
    assert response.status_code == 303, response.text
    cookie = response.headers["set-cookie"]
    assert f"ik_{area}=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert f"Path=/{area}" in cookie
    return client


def client_from(api: Api, source: str) -> httpx.Client:
    """A client of ``api`` whose connections come from loopback address ``source``
    (127.0.0.2, ...): another client address without any header."""
    transport = httpx.HTTPTransport(local_address=source)
    return httpx.Client(base_url=api.url, transport=transport, timeout=30)


@contextmanager
def serving(settings: Settings, migrate: bool = True) -> Iterator[Api]:
    """A backend of the test's own settings, on a free port, for the ``with`` block."""
    server = BackgroundServer(settings, migrate=migrate).start()
    api = Api(server)
    try:
        yield api
    finally:
        api.http.close()
        server.stop()
