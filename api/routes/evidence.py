"""A contact's evidence bundle (staff, auditors; every export recorded) and their own receipts."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from api.auth.guards import allow, contact_only, principal_of
from api.dependencies import component
from api.evidence import Evidence, Receipt
from api.routes.ledger import LEDGER_ERRORS
from ledger.evidence import EvidenceBundle
from ledger.vocabulary import Actor

EVIDENCE_DEPENDENCIES = {"evidence": component("evidence")}


def bundle_answer(contact_id: UUID, document: EvidenceBundle, position: int) -> Response[EvidenceBundle]:
    return Response(
        document,
        headers={
            "Ledger-Position": str(position),
            "Content-Disposition": f'attachment; filename="evidence-{contact_id}.json"',
        },
    )


@get(
    "/v1/contacts/{contact_id:uuid}/evidence",
    guards=[allow("staff", "auditor")],
    dependencies=EVIDENCE_DEPENDENCIES,
    exception_handlers=LEDGER_ERRORS,  # type: ignore[arg-type]
    tags=["contacts"],
    summary="The contact's evidence bundle, verifiable offline (the export is recorded)",
)
async def contact_evidence(
    contact_id: FromPath[UUID],
    evidence: NamedDependency[Evidence],
    actor: NamedDependency[Actor],
    caught_up: NamedDependency[int | None],
) -> Response[EvidenceBundle]:
    document, position = await evidence.export(contact_id, actor)
    return bundle_answer(contact_id, document, position)


@get(
    "/v1/public/me/receipts",
    guards=[contact_only],
    dependencies=EVIDENCE_DEPENDENCIES,
    exception_handlers=LEDGER_ERRORS,  # type: ignore[arg-type]
    tags=["contact self-service"],
    summary="My signed consent receipts (one per opt-in and opt-out)",
)
async def my_receipts(
    request: Request[Any, Any, Any],
    evidence: NamedDependency[Evidence],
    caught_up: NamedDependency[int | None],
) -> list[Receipt]:
    contact_id = principal_of(request).contact_id
    assert contact_id is not None  # the guard admits contact sessions only
    own, programs = await evidence.events(contact_id)
    return evidence.receipts(own, programs)
