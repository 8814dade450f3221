"""The ``rectrack`` command: serve, migrate, seed."""

import argparse
import sys
from collections.abc import Sequence

from app.clock import Clock
from app.config import get_settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "app.main:app",
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=args.workers or settings.workers,
        log_config=None,
        proxy_headers=True,
    )
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from app.migrations import downgrade, upgrade

    url = get_settings().database_url
    if args.revision.startswith("-") or args.down:
        downgrade(url, args.revision)
    else:
        upgrade(url, args.revision)
    return 0


def _seed(args: argparse.Namespace) -> int:
    from app.db import session_scope
    from seed.loader import load_seed, read_seed

    data = read_seed()
    with session_scope() as session:
        result = load_seed(session, now=Clock().now(), data=data)
    print(result.describe(data["report"]["slug"]), file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rectrack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the API with uvicorn")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.set_defaults(handler=_serve)

    migrate = commands.add_parser("migrate", help="bring the database schema up to date")
    migrate.add_argument("revision", nargs="?", default="head")
    migrate.add_argument("--down", action="store_true", help="downgrade to REVISION")
    migrate.set_defaults(handler=_migrate)

    seed = commands.add_parser("seed", help="load the Kirklees review (idempotent)")
    seed.set_defaults(handler=_seed)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
