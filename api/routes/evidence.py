"""A contact's evidence bundle (staff, auditors; every export recorded) and their own receipts."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request, Response, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath

from adapters.postgres.transparency_log import TransparencyLog
from api.auth.guards import allow, contact_only, principal_of
from api.evidence import Evidence, Receipt, controller_of
from api.routes.ledger import LEDGER_ERRORS, provide_transparency_log
from api.services import Services, request_id
from ledger.evidence import EvidenceBundle, record_export


def provide_evidence(services: NamedDependency[Services], log: NamedDependency[TransparencyLog]) -> Evidence:
    return Evidence(services.pool, log, services.contacts.keys, controller_of(services.settings))


async def export_evidence(
    request: Request[Any, Any, Any], contact_id: UUID, evidence: Evidence, services: Services
) -> Response[EvidenceBundle]:
    """Build the bundle, then record who exported it (the export is itself evidence)."""
    document = await evidence.bundle(contact_id, services.flows.clock.now())
    actor = principal_of(request).actor(request_id(request))
    size = int(document.checkpoint.split("\n")[1])
    position = await services.repository.save(record_export(contact_id, size, len(document.events), actor))
    return Response(
        document,
        headers={
            "Ledger-Position": str(position),
            "Content-Disposition": f'attachment; filename="evidence-{contact_id}.json"',
        },
    )


EVIDENCE_DEPENDENCIES = {
    "log": Provide(provide_transparency_log, sync_to_thread=False),
    "evidence": Provide(provide_evidence, sync_to_thread=False),
}


@get(
    "/v1/contacts/{contact_id:uuid}/evidence",
    guards=[allow("staff", "auditor")],
    dependencies=EVIDENCE_DEPENDENCIES,
    exception_handlers=LEDGER_ERRORS,  # type: ignore[arg-type]
    tags=["contacts"],
    summary="The contact's evidence bundle, verifiable offline (the export is recorded)",
)
async def contact_evidence(
    request: Request[Any, Any, Any],
    contact_id: FromPath[UUID],
    evidence: NamedDependency[Evidence],
    services: NamedDependency[Services],
    caught_up: NamedDependency[int | None],
) -> Response[EvidenceBundle]:
    return await export_evidence(request, contact_id, evidence, services)


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
    assert contact_id is not None
    own, programs = await evidence.events(contact_id)
    return evidence.receipts(own, programs)
