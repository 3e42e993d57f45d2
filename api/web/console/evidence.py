"""Console evidence: download a contact's evidence bundle (the export is recorded, as over the
API), and what the audit page says about the log: its latest checkpoint and how to watch it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
from litestar import Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from adapters.crypto.signing import ledger_signer
from adapters.postgres import checkpoints
from adapters.settings import Settings
from api.evidence import Evidence
from api.routes.evidence import EVIDENCE_DEPENDENCIES, bundle_answer
from api.web.console.access import VIEWERS
from ledger.evidence import EvidenceBundle
from ledger.signed_note import verifier_key
from ledger.vocabulary import Actor


@get("/contacts/{contact_id:uuid}/evidence", guards=[VIEWERS], dependencies=EVIDENCE_DEPENDENCIES)
async def download_evidence(
    contact_id: FromPath[UUID],
    evidence: NamedDependency[Evidence],
    actor: NamedDependency[Actor],
    caught_up: NamedDependency[int | None],
) -> Response[EvidenceBundle]:
    document, position = await evidence.export(contact_id, actor)
    return bundle_answer(contact_id, document, position)


async def log_facts(settings: Settings, pool: asyncpg.Pool) -> dict[str, Any]:
    """The latest checkpoint, the verifier key and the monitor's command line, for the audit page."""
    signer = ledger_signer(settings.signing_key, settings.log_origin)
    if signer is None:
        return {"checkpoint": None, "verifier_key": None, "monitor_command": None}
    vkey = verifier_key(signer.name, signer.public_key)
    return {
        "checkpoint": await checkpoints.latest(pool),
        "verifier_key": vkey,
        "monitor_command": (
            f"optin-ledger audit monitor --url {settings.public_url} --key '{vkey}' "
            "--state monitor-state.json"
        ),
    }
