"""Console evidence pages: every version of a program's disclosure text (the words consent
evidence names, by version and hash), and an event's inclusion proof in the ledger's tree."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from adapters.postgres.merkle_tiles import TreeNotReadyError
from adapters.postgres.replica import ReadDatabase
from adapters.postgres.transparency_log import NoSigningKeyError, TransparencyLog
from api.dependencies import components
from api.web.console.access import AUDITORS, VIEWERS
from api.web.rendering import page
from projections.programs import disclosure_history, get_program

TEXT = "text/plain; charset=utf-8"


@get("/programs/{optin_id:uuid}/disclosures", guards=[VIEWERS])
async def disclosures_page(
    request: Request[Any, Any, Any], optin_id: FromPath[UUID], read_db: NamedDependency[ReadDatabase]
) -> Response[Any]:
    program = await get_program(read_db, optin_id)
    if program is None:
        raise NotFoundException("no such program")
    history = await disclosure_history(read_db, optin_id)
    return page(
        request,
        "console/disclosures.html",
        title=f"{program.name}: disclosure history",
        program=program,
        versions=list(reversed(history)),
    )


@get("/ledger/proof/{position:int}", guards=[AUDITORS], dependencies=components("transparency"))
async def proof(position: FromPath[int], transparency: NamedDependency[TransparencyLog]) -> Response[str]:
    """The event's inclusion proof as `GET /v1/ledger/proof/{position}` serves it (C2SP
    tlog-proof@v1), for a console session: check it with any tlog tool against the checkpoint."""
    try:
        text = await transparency.proof(position, None)
    except (TreeNotReadyError, NoSigningKeyError) as e:
        return Response(
            f"No proof yet: {e}\n", media_type=TEXT, status_code=503, headers={"Retry-After": "1"}
        )
    name = f'inline; filename="optin-ledger-proof-{position}.txt"'
    return Response(text, media_type=TEXT, headers={"Content-Disposition": name})
