"""The ledger as a transparency log over HTTP: public key, signed checkpoints, proofs, tiles.

Paths follow C2SP tlog-tiles under the prefix `/v1/ledger` (`checkpoint`, `tile/<L>/<N>[.p/<W>]`),
so existing witnesses and tools can follow the log; inclusion proofs are C2SP tlog-proof@v1.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, Parameter, QueryParameter

from adapters.postgres.merkle_tiles import TreeNotReadyError
from adapters.postgres.transparency_log import NoSigningKeyError, TransparencyLog
from api.auth.guards import allow, anyone
from api.dependencies import MAX_INTEGER, component
from api.problems import problem
from ledger.tiles import TilePathError, parse_tile_path

TEXT = "text/plain; charset=utf-8"
_FRESH = {"Cache-Control": "no-cache, max-age=1"}
_FOREVER = {"Cache-Control": "public, max-age=31536000, immutable"}

Size = Annotated[
    int | None, QueryParameter(ge=0, le=MAX_INTEGER, description="a stored checkpoint's tree size")
]


class Consistency(msgspec.Struct, frozen=True, kw_only=True, rename={"from_": "from"}):
    from_: int
    to: int
    hashes: list[str]
    """Base64 SHA-256 hashes, RFC 9162 §2.1.4 order."""


def _not_ready(_: Request[Any, Any, Any], exc: TreeNotReadyError) -> Response[dict[str, Any]]:
    return problem(503, "The Merkle tree is catching up", str(exc), headers={"Retry-After": "1"})


def _no_key(_: Request[Any, Any, Any], exc: NoSigningKeyError) -> Response[dict[str, Any]]:
    return problem(503, "No signing key", str(exc))


def _bad_tile(_: Request[Any, Any, Any], exc: TilePathError) -> Response[dict[str, Any]]:
    return problem(404, "Not found", f"not a tile path: {exc}")


NO_KEY = "No signing key is configured (`OPTIN_SIGNING_KEY`), or the tree is catching up."
LEDGER_DEPENDENCIES = {"log": component("transparency")}
LEDGER_ERRORS = {TreeNotReadyError: _not_ready, NoSigningKeyError: _no_key, TilePathError: _bad_tile}


class LedgerController(Controller):
    path = "/v1/ledger"
    tags = ["transparency log"]  # noqa: RUF012 (Litestar reads it as a class attribute)
    dependencies = LEDGER_DEPENDENCIES
    exception_handlers = LEDGER_ERRORS  # type: ignore[assignment]

    @get(
        "/key",
        guards=[anyone],
        summary="The public verifier key (C2SP signed-note vkey)",
        media_type=TEXT,
        opt={"problems": {503: NO_KEY}},
    )
    async def key(self, log: NamedDependency[TransparencyLog]) -> Response[str]:
        return Response(log.verifier_key + "\n", media_type=TEXT, headers=_FOREVER)

    @get(
        "/checkpoint",
        guards=[anyone],
        summary="The latest (or size N) signed checkpoint",
        media_type=TEXT,
        opt={"problems": {404: "No checkpoint of that size was signed.", 503: NO_KEY}},
    )
    async def checkpoint(self, log: NamedDependency[TransparencyLog], size: Size = None) -> Response[str]:
        checkpoint = await log.checkpoint(size)
        return Response(checkpoint.note, media_type=TEXT, headers=_FRESH if size is None else _FOREVER)

    @get(
        "/proof/{position:int}",
        guards=[allow("auditor")],
        summary="An event's inclusion proof (C2SP tlog-proof@v1)",
        media_type=TEXT,
        opt={"problems": {422: "The position is not in the tree of that checkpoint.", 503: NO_KEY}},
    )
    async def proof(
        self,
        position: Annotated[int, Parameter(ge=1, le=MAX_INTEGER, description="the event's position")],
        log: NamedDependency[TransparencyLog],
        size: Size = None,
    ) -> Response[str]:
        return Response(await log.proof(position, size), media_type=TEXT)

    @get(
        "/consistency",
        guards=[anyone],
        summary="Consistency proof between two tree sizes",
        opt={
            "problems": {
                404: "No checkpoint of size `to` or more has been signed.",
                422: "`from` is larger than `to`.",
                503: NO_KEY,
            }
        },
    )
    async def consistency(
        self,
        log: NamedDependency[TransparencyLog],
        from_: Annotated[int, QueryParameter(name="from", ge=0, le=MAX_INTEGER)],
        to: Annotated[int, QueryParameter(ge=0, le=MAX_INTEGER)],
    ) -> Consistency:
        hashes = await log.consistency(from_, to)
        return Consistency(from_=from_, to=to, hashes=[_b64(h) for h in hashes])

    @get(
        "/tile/{path:path}",
        guards=[anyone],
        summary="The tree as C2SP tlog-tiles (hash tiles)",
        media_type="application/octet-stream",
    )
    async def tile(self, path: FromPath[str], log: NamedDependency[TransparencyLog]) -> Response[bytes]:
        level, index, width = parse_tile_path(path.lstrip("/"))
        return Response(
            await log.tile(level, index, width), media_type="application/octet-stream", headers=_FOREVER
        )


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()
