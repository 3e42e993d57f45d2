"""Every projection the service runs, by name (what `optin-ledger replay NAME` accepts)."""

from __future__ import annotations

from adapters.crypto.data_keys import KeyWrapper
from adapters.crypto.sealer import NaclSealer
from adapters.settings import Settings
from ledger.contact import Contact
from projections.contacts import ContactsProjection
from projections.optins import OptInsProjection
from projections.projection import Projection
from projections.timeline import TimelineProjection

TIMELINE_EVENTS = (Contact.Created, Contact.Erased)


def all_projections(settings: Settings) -> list[Projection]:
    """Projections need the keys only to mask addresses; `settings` must carry them."""
    if settings.kek is None or settings.index_key is None:
        raise ValueError("projections need OPTIN_KEK and OPTIN_INDEX_KEY")
    return [
        OptInsProjection(),
        ContactsProjection(KeyWrapper(settings.kek), NaclSealer(settings.index_key)),
        TimelineProjection(TIMELINE_EVENTS),
    ]
