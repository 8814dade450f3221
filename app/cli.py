"""The ``rectrack`` command: serve, migrate, seed, overdue."""

import argparse
import sys
from collections.abc import Sequence
from datetime import date

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


def _overdue(args: argparse.Namespace) -> int:
    from app.db import session_scope
    from app.errors import AppError
    from app.services.as_of import AsOf
    from app.services.reporting import overdue_recommendations, render

    settings = get_settings()
    clock = Clock(timezone=settings.timezone)
    as_of = AsOf(
        day=args.as_of or clock.today(),
        today=clock.today(),
        due_soon_working_days=settings.due_soon_working_days,
    )
    with session_scope(writes=False) as session:
        try:
            rows = list(
                overdue_recommendations(
                    session, as_of=as_of, report_slug=args.report, organisation=args.organisation
                )
            )
        except AppError as error:
            print(f"rectrack overdue: {error.detail}", file=sys.stderr)
            return 2
    print(render(rows, args.format, as_of))
    return 0


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from exc


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

    overdue = commands.add_parser("overdue", help="list what is overdue as of a date")
    overdue.add_argument("--as-of", type=_date, help="YYYY-MM-DD; today (Europe/London) when left out")
    overdue.add_argument("--report", metavar="SLUG", help="only this report")
    overdue.add_argument("--organisation", metavar="CODE", help="only what this organisation owns")
    overdue.add_argument("--format", choices=("table", "json", "csv"), default="table")
    overdue.set_defaults(handler=_overdue)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
