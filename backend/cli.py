"""``interview-backend``: run the server and its admin commands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from backend import __version__


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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Imported late: `--help` and `--version` should not pay for FastAPI and SQLAlchemy.
    from backend.app.core.config import Settings
    from backend.app.core.logging import configure_logging

    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    if args.command == "migrate":
        from backend.app.core.migrate import upgrade_to_head

        upgrade_to_head(settings)
        print(f"database ready: {settings.resolved_database_url()}")
        return 0
    if args.command == "serve":
        from backend.app.server import serve_forever

        serve_forever(settings, args.host, args.port, migrate=not args.no_migrate)
        return 0
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
