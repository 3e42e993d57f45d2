"""`optin-ledger`: the command line (serve, migrate, project, replay, bench, …)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from adapters.erasure_log import ErasureLogError
from adapters.postgres.backup import BackupError
from adapters.postgres.embedded import stop_embedded
from adapters.postgres.migrations import MigrationError
from adapters.postgres.startup import DatabaseNotReachedError
from adapters.settings import SettingsError
from api.auth.principal import ROLES


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="optin-ledger", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def with_data_dir(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--data-dir",
            type=Path,
            default=None,
            help="embedded database and demo keys (default: $OPTIN_DATA_DIR or a per-user folder)",
        )
        return p

    serve = with_data_dir(sub.add_parser("serve", help="migrate, then run API, pages, projections"))
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-projections", action="store_true", help="do not run projections in this process")
    serve.add_argument(
        "--no-worker", action="store_true", help="do not send from this process (`optin-ledger worker` does)"
    )
    with_data_dir(sub.add_parser("migrate", help="apply database migrations"))
    with_data_dir(sub.add_parser("project", help="run the projection runner only"))
    with_data_dir(sub.add_parser("worker", help="run the outbox worker only (sends codes and messages)"))
    with_data_dir(sub.add_parser("check", help="test the database, the SMTP server and the SMS account"))
    replay = with_data_dir(sub.add_parser("replay", help="rebuild projections from the ledger"))
    replay.add_argument("name", nargs="?", help="one projection (default: all)")

    retention = sub.add_parser("retention", help="erase idle contacts without consent, close old codes")
    retention_run = with_data_dir(
        retention.add_subparsers(dest="retention_command", required=True).add_parser("run")
    )
    retention_run.add_argument("--dry-run", action="store_true", help="list, change nothing")
    outbox = with_data_dir(sub.add_parser("outbox", help="show what the dev sender would have sent"))
    outbox.add_argument("--follow", action="store_true", help="keep showing new messages")

    backup = with_data_dir(sub.add_parser("backup", help="logical backup of the ledger and key tables"))
    backup.add_argument("--to", type=Path, required=True, dest="target")
    restore = with_data_dir(sub.add_parser("restore", help="verified restore into an empty database"))
    restore.add_argument("--from", type=Path, required=True, dest="source")

    keys = sub.add_parser("keys", help="key management").add_subparsers(dest="keys_command", required=True)
    rotate = with_data_dir(keys.add_parser("rotate", help="re-wrap data keys under a new KEK"))
    rotate.add_argument("--generate", action="store_true", help="generate the new KEK (printed once)")
    users = sub.add_parser("users", help="staff accounts").add_subparsers(dest="action", required=True)
    create = with_data_dir(users.add_parser("create", help="create a staff user (the first admin too)"))
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--email", required=True)
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input (else: prompt)"
    )
    audit = sub.add_parser("audit", help="audit exports").add_subparsers(dest="action", required=True)
    verify = audit.add_parser("verify", help="verify an audit export offline (`-` for standard input)")
    verify.add_argument("file", type=Path)
    watch = audit.add_parser("monitor", help="witness: check the latest checkpoint extends the last seen")
    watch.add_argument("--url", required=True, help="the service's base URL")
    watch.add_argument("--key", required=True, help="the ledger's verifier key (GET /v1/ledger/key)")
    watch.add_argument("--state", type=Path, required=True, help="file keeping the last checkpoint seen")
    evidence = sub.add_parser("evidence", help="evidence bundles and receipts, offline")
    proofs = evidence.add_subparsers(dest="action", required=True)
    check = proofs.add_parser("verify", help="verify a contact's evidence bundle or a receipt offline")
    check.add_argument("file", help="the bundle (JSON) or receipt (JWS); - for standard input")
    check.add_argument("--key", required=True, help="the ledger's verifier key (name+hash+base64)")
    proofs.add_parser("verifier", help="print the standalone verifier (stdlib + PyNaCl) to copy out")

    imports = with_data_dir(sub.add_parser("import", help="import consent from a CSV or NDJSON file"))
    imports.add_argument("file", type=Path)
    imports.add_argument("--dry-run", action="store_true", help="report what would change, change nothing")
    imports.add_argument("--workers", type=int, default=2, help="processes applying a large file (default 2)")

    bench = with_data_dir(sub.add_parser("bench", help="benchmarks, as same-run ratios"))
    bench.add_argument(
        "name", choices=["append", "replay", "consent", "command", "evidence", "revocation", "import"]
    )
    bench.add_argument("--seconds", type=float, default=5.0, help="duration of each timed part")
    bench.add_argument("--events", type=int, default=100_000, help="events for `replay`")
    bench.add_argument("--tasks", type=int, default=32, help="concurrent writers or connections")
    bench.add_argument("--contacts", type=int, default=2000, help="contacts for `consent`")
    bench.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="baseline/service rounds, alternating (append, replay, consent, command)",
    )
    bench.add_argument("--leaves", type=int, default=1_000_000, help="events in the tree for `evidence`")
    bench.add_argument("--rows", type=int, default=1_000_000, help="rows for `import`")
    bench.add_argument(
        "--workers",
        type=int,
        default=2,
        help="processes applying rows for `import`; writer processes for `append`'s last part (1: none)",
    )
    bench.add_argument("--json", action="store_true", help="print JSON only")
    return parser


def _bench(args: argparse.Namespace) -> int:
    if args.name == "revocation":  # no database: the classifier on its labelled corpus
        from api.bench import revocation

        return _print_bench(revocation.run(), args.json)
    from api.bench import append, consent, evidence, replay, run_like_serve
    from api.commands.runtime import prepare

    settings = prepare(args.data_dir)
    assert settings.database_url
    dsn, role = settings.database_url, settings.db_role
    if args.name == "append":
        result = run_like_serve(append.run(dsn, args.seconds, args.tasks, role, args.rounds, args.workers))
    elif args.name == "import":
        from api.bench import imports

        result = run_like_serve(imports.run(settings, args.rows, args.workers))
    elif args.name == "consent":
        result = run_like_serve(consent.run(settings, args.seconds, args.tasks, args.contacts, args.rounds))
    elif args.name == "command":
        from api.bench import command

        result = run_like_serve(command.run(settings, args.seconds, args.tasks, args.rounds))
    elif args.name == "evidence":
        result = run_like_serve(evidence.run(dsn, args.leaves, args.seconds, args.tasks, role))
    else:
        result = run_like_serve(replay.run(dsn, args.events, role, args.rounds))
    return _print_bench(result, args.json)


def _print_bench(result: dict[str, object], as_json: bool) -> int:
    if as_json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>24}: {value}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # SIGTERM ends a command as Ctrl-C does (drain, stop, leave the embedded server), not at once.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        match args.command:
            case "serve":
                from api.commands.serve import serve

                return serve(
                    args.host,
                    args.port,
                    args.data_dir,
                    not args.no_projections,
                    run_worker=not args.no_worker,
                )
            case "migrate":
                from api.commands.serve import run_migrations

                return run_migrations(args.data_dir)
            case "project":
                from api.commands.serve import project

                return project(args.data_dir)
            case "worker":
                from api.commands.worker import worker

                return worker(args.data_dir)
            case "check":
                from api.commands.check import check

                return check(args.data_dir)
            case "replay":
                from api.commands.replay import replay

                return replay(args.name, args.data_dir)
            case "retention":
                from api.commands.maintenance import retention

                return retention(args.data_dir, args.dry_run)
            case "outbox":
                from api.commands.maintenance import show_outbox

                return show_outbox(args.data_dir, args.follow)
            case "backup":
                from api.commands.backup import backup

                return backup(args.target, args.data_dir)
            case "restore":
                from api.commands.backup import restore

                return restore(args.source, args.data_dir)
            case "keys":
                from api.commands.keys import rotate

                return rotate(args.data_dir, args.generate)
            case "users":
                from api.commands.users import create

                return create(args.email, args.role, args.password_stdin, args.data_dir)
            case "audit" if args.action == "monitor":
                from api.commands.monitor import monitor

                return monitor(args.url, args.key, args.state)
            case "audit":
                from api.commands.audit import verify

                return verify(args.file)
            case "evidence":
                from api.commands import evidence as evidence_command

                if args.action == "verifier":
                    return evidence_command.print_verifier()
                return evidence_command.verify(args.file, args.key)
            case "import":
                from api.commands.imports import run_import

                return run_import(args.file, args.dry_run, args.data_dir, args.workers)
            case "bench":
                return _bench(args)
    except (SettingsError, BackupError, ErasureLogError, MigrationError, DatabaseNotReachedError) as e:
        print(f"optin-ledger: {e}", file=sys.stderr)
        return 2
    finally:
        stop_embedded()
        signal.signal(signal.SIGTERM, previous)
    return 2


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
