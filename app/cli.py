"""The ``rectrack`` command: serve, migrate, seed, keys, overdue, import, worker, reminders."""

import argparse
import sys
from collections.abc import Sequence
from datetime import date

from app.clock import Clock
from app.config import get_settings


def _engine():
    """The engine of a one-shot command."""
    from app.db.engine import create_db_engine

    return create_db_engine(get_settings())


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.api.http_protocol import ProblemHttpToolsProtocol

    settings = get_settings()
    uvicorn.run(
        "app.main:app",
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=args.workers or settings.workers,
        log_config=None,
        proxy_headers=True,
        http=ProblemHttpToolsProtocol,
    )
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from app.db.migrations import downgrade, upgrade

    url = get_settings().database_url
    if args.revision.startswith("-") or args.down:
        downgrade(url, args.revision)
    else:
        upgrade(url, args.revision)
        if args.revision == "head":
            _recompute_deadlines()
    return 0


def _recompute_deadlines() -> None:
    """Due dates are stored as computed with the extra non-working days then in force; each
    migration to the latest schema (as every deployment runs) recomputes the ones that moved."""
    from app.db.sessions import session_scope
    from app.domain.access import SYSTEM
    from app.services import reports

    with session_scope(_engine()) as session:
        moved = reports.recompute_deadlines(session, actor=SYSTEM, now=Clock().now())
    for report in moved:
        print(
            f"rectrack migrate: {report.slug}: action plan now due {report.action_plan_due_date}",
            file=sys.stderr,
        )


def _seed(args: argparse.Namespace) -> int:
    from app.db.sessions import session_scope
    from seed.loader import load_seed, read_seed

    data = read_seed()
    with session_scope(_engine()) as session:
        result = load_seed(session, now=Clock().now(), data=data)
    print(result.describe(data["report"]["slug"]), file=sys.stderr)
    return 0


def _overdue(args: argparse.Namespace) -> int:
    from app.db.sessions import session_scope
    from app.errors import AppError
    from app.services.as_of import AsOf
    from app.services.overdue import overdue_recommendations, render

    settings = get_settings()
    clock = Clock(timezone=settings.timezone)
    as_of = AsOf(
        day=args.as_of or clock.today(),
        today=clock.today(),
        due_soon_working_days=settings.due_soon_working_days,
    )
    with session_scope(_engine(), writes=False) as session:
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


def _keys_create(args: argparse.Namespace) -> int:
    from app.db.sessions import session_scope
    from app.domain.access import SYSTEM
    from app.domain.status import Role
    from app.errors import AppError
    from app.services import keys

    settings = get_settings()
    with session_scope(_engine()) as session:
        try:
            _, key = keys.create_key(
                session,
                actor=SYSTEM,
                name=args.name,
                role=Role(args.role),
                organisation_code=args.organisation,
                secret=settings.key_secret,
                now=Clock().now(),
            )
        except AppError as error:
            print(f"rectrack keys create: {error.detail}", file=sys.stderr)
            return 2
    print(key)
    return 0


def _keys_bootstrap(args: argparse.Namespace) -> int:
    """Create the first admin key, once, and show it to the person at the terminal."""
    from app.db.sessions import session_scope
    from app.domain.access import SYSTEM
    from app.domain.status import Role
    from app.services import keys

    settings = get_settings()
    with session_scope(_engine()) as session:
        if keys.has_active_admin(session):
            print("An admin key already exists; make more with 'rectrack keys create'.", file=sys.stderr)
            return 0
        _, key = keys.create_key(
            session,
            actor=SYSTEM,
            name="first admin",
            role=Role.ADMIN,
            organisation_code=None,
            secret=settings.key_secret,
            now=Clock().now(),
        )
    print(
        "\nYour admin API key (shown this once; it is stored only as a hash):\n\n"
        f"    {key}\n\n"
        "In the Swagger UI, press Authorize and paste it. Make more keys with\n"
        "    rectrack keys create --role editor --organisation CHFT --name 'CHFT team'\n",
        file=sys.stderr,
    )
    return 0


def _import(args: argparse.Namespace) -> int:
    """Import a report's PDF or text: exit 1 when the import is refused, 2 when the file is not a report."""
    from pathlib import Path

    from app.db.sessions import session_scope
    from app.domain.access import SYSTEM
    from app.errors import AppError
    from app.importer.result_text import render_result
    from app.services import documents, importer

    try:
        data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as error:
        print(f"rectrack import: cannot read {args.file}: {error.strerror}", file=sys.stderr)
        return 2
    try:
        declared = {".pdf": "pdf", ".docx": "docx"}.get(
            Path(args.file).suffix.lower(), "text"
        )  # a damaged file
        source = documents.read_report_source(
            data, limits=documents.read_limits(get_settings()), declared=declared
        )
    except AppError as error:
        print(f"rectrack import: {args.file}: {error.detail}", file=sys.stderr)
        return 2
    options = importer.ImportOptions(
        slug=args.slug, received_date=args.received_date, regulator=args.regulator
    )
    with session_scope(_engine(), writes=not args.dry_run) as session:
        try:
            result = documents.import_source(
                session,
                source=source,
                actor=SYSTEM,
                options=options,
                now=Clock().now(),
                dry_run=args.dry_run,
                apply_changes=args.apply_changes,
            )
        except AppError as error:
            blockers = error.extensions.get("blockers", [])
            reasons = "".join(f"\n  - {b['message']}" for b in blockers) if blockers else f" {error.detail}"
            print(f"rectrack import: {args.file}:{reasons}", file=sys.stderr)
            return 1 if isinstance(error, importer.ImportRefused) else 2
    print(result.model_dump_json(indent=2) if args.format == "json" else render_result(result))
    return 0


def _worker(args: argparse.Namespace) -> int:
    from app.logs import configure_logging
    from app.worker.main import run_worker

    settings = get_settings()
    configure_logging(settings.log_level)
    return run_worker(settings, _engine(), Clock(timezone=settings.timezone))


def _reminders(args: argparse.Namespace) -> int:
    from app.db.sessions import session_scope
    from app.services.reminders import run_reminders, send_pending_emails

    settings = get_settings()
    clock = Clock(timezone=settings.timezone)
    today = clock.today()
    as_of = args.as_of or today
    engine = _engine()
    with session_scope(engine) as session:
        made = run_reminders(session, as_of=as_of, today=today, settings=settings, now=clock.now())
    print(f"{made} new reminders for {as_of.isoformat()}", file=sys.stderr)
    if settings.smtp_url is not None:
        sent = send_pending_emails(engine, settings=settings, clock=clock)
        print(f"{sent} emails sent", file=sys.stderr)
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

    key_commands = commands.add_parser("keys", help="API keys").add_subparsers(
        dest="keys_command", required=True
    )
    create = key_commands.add_parser("create", help="make a key and print it alone on stdout")
    create.add_argument("--role", required=True, choices=("admin", "assurer", "editor", "viewer"))
    create.add_argument("--organisation", metavar="CODE", help="the organisation an editor key writes for")
    create.add_argument("--name", required=True, help="who or what uses the key")
    create.set_defaults(handler=_keys_create)
    bootstrap = key_commands.add_parser("bootstrap", help="create the first admin key if there is none")
    bootstrap.set_defaults(handler=_keys_bootstrap)

    overdue = commands.add_parser("overdue", help="list what is overdue as of a date")
    overdue.add_argument("--as-of", type=_date, help="YYYY-MM-DD; today (Europe/London) when left out")
    overdue.add_argument("--report", metavar="SLUG", help="only this report")
    overdue.add_argument("--organisation", metavar="CODE", help="only what this organisation owns")
    overdue.add_argument("--format", choices=("table", "json", "csv"), default="table")
    overdue.set_defaults(handler=_overdue)

    import_ = commands.add_parser("import", help="import a report from its published PDF or text (UTF-8)")
    import_.add_argument("file", metavar="FILE", help="the report's PDF or plain text; - for stdin")
    import_.add_argument("--dry-run", action="store_true", help="show what would be imported; write nothing")
    import_.add_argument(
        "--apply-changes", action="store_true", help="apply the differences from the stored report"
    )
    import_.add_argument("--slug", help="instead of <area>-<tag>-<year>")
    import_.add_argument("--received-date", type=_date, help="YYYY-MM-DD; the publication date by default")
    import_.add_argument("--regulator", help="Care Quality Commission by default")
    import_.add_argument("--format", choices=("text", "json"), default="text")
    import_.set_defaults(handler=_import)

    worker = commands.add_parser("worker", help="send webhook deliveries and run the daily reminders")
    worker.set_defaults(handler=_worker)

    reminders = commands.add_parser("reminders", help="make (and send) the reminders due on a date")
    reminders.add_argument("--as-of", type=_date, help="YYYY-MM-DD; today (Europe/London) when left out")
    reminders.set_defaults(handler=_reminders)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
