"""``interview-backend``: run the server and its admin commands."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from backend import __version__

if TYPE_CHECKING:
    from backend.app.core.config import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="interview-backend",
        description="Interview Kiosk backend. Configure with IK_* environment variables.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="migrate the database and serve the API")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    serve.add_argument("--no-migrate", action="store_true", help="do not migrate on start")

    commands.add_parser("migrate", help="create or upgrade the database schema, then exit")
    commands.add_parser(
        "rotate-jwt-secret",
        help="new token-signing key; tokens signed with the old one work until they expire",
        description="Generate a new token-signing key in the data directory. The old key "
        "still verifies the tokens it signed, for one token lifetime; nobody is signed out. "
        "Stop every backend process first and start them afterwards.",
    )

    create_user = commands.add_parser("create-user", help="create an account (migrates first)")
    create_user.add_argument("--email", required=True)
    create_user.add_argument(
        "--password", help="the password (default: read from the IK_NEW_PASSWORD variable)"
    )
    create_user.add_argument(
        "--role", required=True, choices=["candidate", "proctor", "reviewer", "admin"]
    )
    create_user.add_argument("--name", default="", help="full name (default: the e-mail)")
    create_user.add_argument(
        "--test-center", help="the test center whose room a proctor watches on /console"
    )

    enroll = commands.add_parser(
        "enroll-kiosk",
        help="enroll a kiosk in a test center and print its credential (migrates first)",
        description="Enroll a kiosk (or re-enroll it: its old credential stops working) and "
        "print the credential once. Put it in that kiosk's kiosk.toml as kiosk_token.",
    )
    enroll.add_argument("--id", required=True, help="the kiosk id, as in its kiosk.toml (seat-07)")
    enroll.add_argument("--test-center", required=True, help="the test center's id (leeds)")
    enroll.add_argument("--test-center-name", help="its display name, when it is new")

    commands.add_parser(
        "seed-demo", help="add demo staff, candidates and postings; print fresh passwords"
    )

    requeue = commands.add_parser(
        "requeue-transcripts",
        help="queue failed transcriptions again, with fresh attempts (migrates first)",
        description="Put every answer whose transcription failed for good back in the queue "
        "(after a recording was restored, or a model fixed); a running backend takes them up.",
    )
    requeue.add_argument("--interview", help="only this interview's answers (its id)")
    return parser


async def _create_user(settings: Settings, args: argparse.Namespace, password: str) -> str:
    from backend.app.core.db import create_engine, create_sessionmaker
    from backend.app.models.enums import Role
    from backend.app.services.auth import create_user
    from backend.app.services.kiosks import ensure_test_center

    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            center = None
            if args.test_center:
                center = (await ensure_test_center(session, args.test_center)).id
            user = await create_user(
                session, args.email, password, args.name or args.email, Role(args.role),
                test_center_id=center,
            )  # fmt: skip
            where = f", test center {center}" if center else ""
            return f"created {user.role} {user.email} ({user.id}{where})"
    finally:
        await engine.dispose()


async def _enroll_kiosk(settings: Settings, args: argparse.Namespace) -> str:
    from backend.app.core.db import create_engine, create_sessionmaker
    from backend.app.services.kiosks import enroll

    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            return await enroll(session, args.id, args.test_center, args.test_center_name)
    finally:
        await engine.dispose()


async def _seed_demo(settings: Settings) -> list[str]:
    from backend.app.core.db import create_engine, create_sessionmaker
    from backend.app.services.demo import seed_demo

    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            credentials = await seed_demo(session)
    finally:
        await engine.dispose()
    return [f"  {c.role.value:<9} {c.email:<36} {c.password}" for c in credentials]


async def _requeue_transcripts(settings: Settings, interview: str | None) -> int:
    import uuid

    from backend.app.core.db import create_engine, create_sessionmaker
    from backend.app.services.transcription.jobs import requeue_failed

    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            return await requeue_failed(session, uuid.UUID(interview) if interview else None)
    finally:
        await engine.dispose()


def _refused(reason: str) -> int:
    """A command that cannot go ahead: one line on stderr, exit status 2, no traceback."""
    print(f"interview-backend: {reason}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Imported late: `--help` and `--version` should not pay for FastAPI and SQLAlchemy.
    from pydantic import ValidationError

    from backend.app.core.config import Settings
    from backend.app.core.logging import configure_logging

    try:
        settings = Settings()
    except ValidationError as exc:
        # One line per problem, named as IT sets it (backend.env), never a traceback.
        for problem in exc.errors():
            where = "_".join(str(part) for part in problem["loc"]).upper()
            name = f"IK_{where}" if where else "configuration"
            print(f"interview-backend: {name}: {problem['msg']}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_json)
    if args.command == "rotate-jwt-secret":
        from backend.app.core.config import NothingToRotate, rotate_jwt_secret

        try:
            rotate_jwt_secret(settings)
        except NothingToRotate as exc:
            return _refused(str(exc))
        print("New signing key written; the old one verifies its tokens until they expire.")
        print("Start every backend process again: systemctl start 'interview-backend*'")
        return 0
    if args.command == "migrate":
        from backend.app.core.migrate import upgrade_to_head

        upgrade_to_head(settings)
        print(f"database ready: {settings.resolved_database_url()}")
        return 0
    if args.command in ("create-user", "seed-demo", "enroll-kiosk", "requeue-transcripts"):
        from backend.app.core.errors import DomainError
        from backend.app.core.migrate import upgrade_to_head

        upgrade_to_head(settings)
        if args.command == "seed-demo":
            print("Demo accounts (passwords are new on every run):")
            print("\n".join(asyncio.run(_seed_demo(settings))))
            return 0
        if args.command == "requeue-transcripts":
            try:
                count = asyncio.run(_requeue_transcripts(settings, args.interview))
            except ValueError:
                return _refused("--interview must be an interview id")
            print(f"{count} failed transcription{'s' if count != 1 else ''} queued again")
            return 0
        if args.command == "enroll-kiosk":
            try:
                credential = asyncio.run(_enroll_kiosk(settings, args))
            except DomainError as exc:
                return _refused(exc.detail)
            print(f"kiosk {args.id} enrolled in test center {args.test_center}.")
            print('Its credential (shown once; kiosk.toml: kiosk_token = "..."):')
            print(credential)
            return 0
        password = args.password or os.environ.get("IK_NEW_PASSWORD", "")
        if not 8 <= len(password) <= 128:
            return _refused("the password must be 8 to 128 characters")
        try:
            print(asyncio.run(_create_user(settings, args, password)))
        except DomainError as exc:
            print(f"interview-backend: {exc.detail}", file=sys.stderr)
            return 1
        return 0
    if args.command == "serve":
        from backend.app.server import TlsFilesUnusable, check_tls_files, serve_forever

        try:
            check_tls_files(settings)
        except TlsFilesUnusable as exc:
            return _refused(str(exc))
        serve_forever(settings, args.host, args.port, migrate=not args.no_migrate)
        return 0
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
