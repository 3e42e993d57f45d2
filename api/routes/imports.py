"""`POST /v1/imports`: a consent import over HTTP (CSV or NDJSON body), or a dry run of one.

Programs are named by id or exact name, as the programs read model knows them: pass
`?min_position=` after creating one. The body is streamed to a temporary file (never held in
memory), checked row by row, and applied only if every row is good; otherwise the answer is a
422 problem listing the bad rows by line.
Large files are better imported with `optin-ledger import` (same code, with a progress bar).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.exceptions import ClientException
from litestar.params import QueryParameter

from adapters.import_files import FileImports
from api.auth.guards import allow
from api.dependencies import components
from api.problems import problem
from api.request_bodies import BODY_TO_DISK
from ledger.application.imports import ImportReport
from ledger.vocabulary import Actor

MAX_IMPORT_BYTES = 512 * 1024 * 1024
BODY_TYPES = ("text/csv", "application/x-ndjson", "application/ndjson", "application/jsonl")


class Problem(msgspec.Struct, frozen=True):
    line: int
    message: str


class ImportOut(msgspec.Struct, frozen=True, kw_only=True):
    format: str
    rows: int
    dry_run: bool
    applied: bool
    outcomes: dict[str, int]
    problem_count: int = 0
    problems: list[Problem] = msgspec.field(default_factory=list)


def _out(report: ImportReport, dry_run: bool) -> ImportOut:
    return ImportOut(
        format=report.format,
        rows=report.rows,
        dry_run=dry_run,
        applied=report.applied,
        outcomes={str(k): v for k, v in report.outcomes.items()},
        problem_count=report.problem_count,
        problems=[Problem(p.line, p.message) for p in report.problems],
    )


@post(
    "/v1/imports",
    guards=[allow("staff")],
    tags=["imports"],
    request_max_body_size=MAX_IMPORT_BYTES,
    summary="Import consent (CSV or NDJSON body: address, channel, program, status, when, source, evidence)",
    status_code=200,
    dependencies=components("imports"),
    opt={
        "problems": {
            413: "Larger than 512 MiB: use `optin-ledger import FILE`.",
            415: "Not CSV (`text/csv`) nor NDJSON (`application/x-ndjson`).",
            422: "Bad rows: `problems` lists them by line (the first 1,000); nothing was changed.",
        },
        "body_types": list(BODY_TYPES),
        BODY_TO_DISK: True,
    },
)
async def post_import(
    request: Request[Any, Any, Any],
    imports: NamedDependency[FileImports],
    actor: NamedDependency[Actor],
    caught_up: NamedDependency[int | None],
    dry_run: Annotated[bool, QueryParameter(description="report what would change, change nothing")] = False,
) -> Response[ImportOut]:
    kind = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    suffix = (
        ".ndjson" if kind in ("application/x-ndjson", "application/ndjson", "application/jsonl") else ".csv"
    )
    if kind not in (*BODY_TYPES, ""):
        raise ClientException(f"send text/csv or application/x-ndjson, not {kind}", status_code=415)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        with path.open("wb") as f:
            async for chunk in request.stream():
                f.write(chunk)
        report = await imports.run(path, actor, dry_run=dry_run, name=path.name)
    body = _out(report, dry_run)
    if not report.valid:
        detail = f"{report.problem_count} bad rows; nothing was changed"
        return problem(422, "Unprocessable Content", detail, **msgspec.to_builtins(body))  # type: ignore[return-value]
    headers = {"Ledger-Position": str(report.position)} if report.position is not None else {}
    return Response(body, status_code=200, headers=headers)
