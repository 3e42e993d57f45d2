"""Channel-wide opt-out and its reversal, across every program at once (STOP, START, "everything").

Used by SMS keywords and by the email "unsubscribe from everything" link. The changed aggregates
are returned unsaved, so the caller appends them in one atomic call with whatever else belongs
to the same act (the confirmation reply).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.channel_optout import ChannelOptOut, channel_optout_id, open_channel_optout
from ledger.consent import Consent, Evidence, consent_id
from ledger.program import Program
from ledger.repository import Repository
from ledger.vocabulary import Channel

ProgramIds = Callable[[], Awaitable[list[UUID]]]
"""Every program id (archived ones too: their consents are withdrawn as well)."""


class ChannelPreferences:
    def __init__(self, repository: Repository, programs: ProgramIds) -> None:
        self.repository = repository
        self.programs = programs

    async def consents(self, contact_id: UUID, channel: Channel) -> list[Consent]:
        """The contact's consent streams on `channel` that exist."""
        found = []
        for optin_id in await self.programs():
            consent = await self.repository.find(Consent, consent_id(contact_id, optin_id, channel))
            if consent is not None:
                found.append(consent)
        return found

    async def opt_out_everywhere(
        self, contact_id: UUID, channel: Channel, evidence: Evidence
    ) -> list[Aggregate]:
        """Withdraw every opt-in and pending request on `channel`; block the channel. [] if done already."""
        optout = await self._optout(contact_id, channel)
        if optout.opted_out:
            return []
        changed: list[Aggregate] = [optout]
        withdrawn = []
        for consent in await self.consents(contact_id, channel):
            if consent.status in ("opted_in", "pending"):
                if consent.status == "opted_in":
                    withdrawn.append(consent.optin_id)
                consent.withdraw(evidence)
                changed.append(consent)
        optout.opt_out(withdrawn, evidence)
        return changed

    async def resubscribe(
        self, contact_id: UUID, channel: Channel, evidence: Evidence
    ) -> tuple[list[Aggregate], list[UUID]]:
        """Lift the channel opt-out and give back what it withdrew (programs still running)."""
        optout = await self.repository.find(ChannelOptOut, channel_optout_id(contact_id, channel))
        if optout is None or not optout.opted_out:
            return [], []
        changed: list[Aggregate] = [optout]
        regranted = []
        for optin_id in optout.withdrawn:
            consent = await self.repository.get(Consent, consent_id(contact_id, optin_id, channel))
            program = await self.repository.find(Program, optin_id)
            if consent.status == "opted_out" and program is not None and not program.archived:
                consent.grant(evidence)
                changed.append(consent)
                regranted.append(optin_id)
        optout.resubscribe(evidence)
        return changed, regranted

    async def _optout(self, contact_id: UUID, channel: Channel) -> ChannelOptOut:
        found = await self.repository.find(ChannelOptOut, channel_optout_id(contact_id, channel))
        return found or open_channel_optout(contact_id, channel)
