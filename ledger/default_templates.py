"""The default template of every kind on every channel: recorded once, at the first start.

They are ordinary templates (events, versions, editable by staff) with deterministic ids, so
every process may try to create them and only the first append wins. `transactional` and
`promotional` take the caller's `message` (and `subject` for email) as variables.
"""

from __future__ import annotations

from ledger.errors import ConflictError
from ledger.repository import Repository
from ledger.template import KINDS, Template, TemplateKind, create_template, default_template_id
from ledger.vocabulary import CHANNELS, SYSTEM, Channel

_FOOTER = '<p><small>{{ program_name }} · <a href="{{ unsubscribe_url }}">Unsubscribe</a></small></p>'

DEFAULTS: dict[tuple[TemplateKind, Channel], tuple[str | None, str]] = {
    ("verification_code", "sms"): (
        None,
        "Your code is {{ code }}. It expires in {{ expires_minutes }} minutes. Never share it.",
    ),
    ("verification_code", "email"): (
        "Your verification code",
        "<p>Your code is <strong>{{ code }}</strong>.</p>"
        "<p>It expires in {{ expires_minutes }} minutes. If you did not ask for it, ignore this email.</p>",
    ),
    ("optin_invite", "sms"): (
        None,
        "{{ program_name }}: reply YES to subscribe, or enter code {{ code }}. "
        "Msg&data rates may apply. Reply HELP for help, STOP to opt out.",
    ),
    ("optin_invite", "email"): (
        "Please confirm: {{ program_name }}",
        "<p>You are invited to subscribe to <strong>{{ program_name }}</strong>.</p>"
        "<p>{{ disclosure }}</p>"
        "<p>To confirm, enter the code <strong>{{ code }}</strong> "
        "(valid for {{ expires_minutes }} minutes).</p>"
        '<p>Not interested? <a href="{{ unsubscribe_url }}">Do not ask me again</a>.</p>',
    ),
    ("optin_confirmation", "sms"): (
        None,
        "{{ program_name }}: you are subscribed. Msg&data rates may apply. "
        "Reply HELP for help, STOP to opt out.",
    ),
    ("optin_confirmation", "email"): (
        "You are subscribed to {{ program_name }}",
        "<p>You are now subscribed to <strong>{{ program_name }}</strong>.</p>" + _FOOTER,
    ),
    ("transactional", "sms"): (None, "{{ message }}"),
    ("transactional", "email"): ("{{ subject }}", "<p>{{ message }}</p>"),
    ("promotional", "sms"): (None, "{{ program_name }}: {{ message }} Reply STOP to opt out."),
    ("promotional", "email"): ("{{ subject }}", "<p>{{ message }}</p>" + _FOOTER),
    ("optout_confirmation", "sms"): (
        None,
        "{{ program_name }}: you are unsubscribed and will get no more messages. Reply START to resubscribe.",
    ),
    ("optout_confirmation", "email"): (
        "You are unsubscribed",
        "<p>You are unsubscribed from {{ program_name }} and will get no more messages.</p>",
    ),
    ("consent_receipt", "sms"): (
        None,
        "{{ program_name }}: you {{ consent_change }} these messages. Receipt: {{ receipt_url }} "
        "Reply HELP for help.",
    ),
    ("consent_receipt", "email"): (
        "Your consent receipt: {{ program_name }}",
        "<p>You {{ consent_change }} <strong>{{ program_name }}</strong>. This email is your receipt: "
        "our ledger recorded the change as event {{ ledger_position }} and signed a record of it.</p>"
        '<p><a href="{{ receipt_url }}">See your receipt</a>, or keep the signed record below: '
        "anyone can check it against our published key.</p>"
        '<pre style="white-space: pre-wrap; word-break: break-all; font-size: small">'
        "{{ receipt_jws }}</pre>",
    ),
}


def default_template(kind: TemplateKind, channel: Channel) -> Template:
    subject, body = DEFAULTS[(kind, channel)]
    return create_template(
        name=f"Default {kind.replace('_', ' ')} ({channel})",
        kind=kind,
        channel=channel,
        subject=subject,
        body=body,
        actor=SYSTEM,
        is_default=True,
    )


async def ensure_default_templates(repository: Repository) -> int:
    """Record the defaults that do not exist yet (idempotent, safe to race); return how many."""
    missing = [
        (kind, channel)
        for kind in KINDS
        for channel in CHANNELS
        if not await repository.store.read_stream(default_template_id(kind, channel))
    ]
    if not missing:
        return 0
    try:
        await repository.save(*(default_template(kind, channel) for kind, channel in missing))
        return len(missing)
    except ConflictError:  # another process is creating them too: add what is still missing, one by one
        created = 0
        for kind, channel in missing:
            try:
                await repository.save(default_template(kind, channel))
                created += 1
            except ConflictError:
                pass
        return created
