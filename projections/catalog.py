"""Every projection the service runs, by name (what `optin-ledger replay NAME` accepts)."""

from __future__ import annotations

from adapters.crypto.data_keys import KeyWrapper
from adapters.crypto.sealer import NaclSealer
from adapters.settings import Settings
from ledger.channel_optout import ChannelOptOut
from ledger.consent import Consent
from ledger.contact import Contact
from ledger.mailbox import Mailbox
from ledger.message import Message
from ledger.verification import Verification
from projections.activity import ActivityProjection
from projections.consent_state import ConsentStateProjection
from projections.contacts import ContactsProjection
from projections.email_feedback import EmailFeedbackProjection
from projections.evidence_index import EvidenceIndexProjection
from projections.messages import MessagesProjection
from projections.optout_deadlines import OptOutDeadlinesProjection
from projections.outbox import OutboxProjection
from projections.programs import ProgramsProjection
from projections.projection import Projection
from projections.revocation_reviews import RevocationReviewsProjection
from projections.templates import TemplatesProjection
from projections.timeline import TimelineProjection
from projections.users import UsersProjection
from projections.verifications import VerificationsProjection
from projections.webhook_outbox import WebhookOutboxProjection

TIMELINE_EVENTS = (
    Contact.Created,
    Contact.Erased,
    Consent.Requested,
    Consent.Granted,
    Consent.Withdrawn,
    Consent.Lapsed,
    Verification.Created,
    Verification.Confirmed,
    Verification.Failed,
    Verification.Locked,
    Verification.Expired,
    ChannelOptOut.OptedOut,
    ChannelOptOut.Resubscribed,
    Message.Created,
    Message.Queued,
    Message.Blocked,
    Message.Diverted,
    Message.Sent,
    Message.Failed,
    Message.DeadLettered,
    Message.Cancelled,
    Message.Delivered,
    Message.Undelivered,
    Mailbox.Bounced,
    Mailbox.Complained,
    Mailbox.Cleared,
    Message.Held,
)


def all_projections(settings: Settings) -> list[Projection]:
    """Projections need the keys only to mask addresses; `settings` must carry them."""
    if settings.kek is None or settings.index_key is None:
        raise ValueError("projections need OPTIN_KEK and OPTIN_INDEX_KEY")
    return [
        ProgramsProjection(),
        ContactsProjection(
            KeyWrapper(settings.kek),
            NaclSealer(settings.index_key),
            activity=frozenset(c.TOPIC for c in TIMELINE_EVENTS[2:]),
        ),
        TimelineProjection(TIMELINE_EVENTS),
        ConsentStateProjection(),
        VerificationsProjection(),
        OutboxProjection(),
        UsersProjection(),
        ActivityProjection(),
        TemplatesProjection(),
        MessagesProjection(),
        EmailFeedbackProjection(),
        EvidenceIndexProjection(),
        WebhookOutboxProjection(KeyWrapper(settings.kek), NaclSealer(settings.index_key)),
        RevocationReviewsProjection(),
        OptOutDeadlinesProjection(settings.compliance.deadline_policy()),
    ]
