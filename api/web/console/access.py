"""Who may use which console page (the same guards as the JSON API), and the menu each role sees."""

from __future__ import annotations

from dataclasses import dataclass

from api.auth.guards import Guard, allow
from api.auth.principal import Principal

VIEWERS = allow("staff", "auditor")  # read contacts, timelines, programs, the dashboard
EDITORS = allow("staff")  # change programs and templates, ask for consent
ADMINS = allow()  # users and API keys
AUDITORS = allow("auditor")  # the ledger and its export


@dataclass(frozen=True, slots=True)
class Link:
    label: str
    href: str
    current: bool


_MENU: tuple[tuple[str, str, Guard], ...] = (
    ("Dashboard", "/console", VIEWERS),
    ("Contacts", "/console/contacts", VIEWERS),
    ("Consent requests", "/console/consent-requests", EDITORS),
    ("Replies to review", "/console/revocations", EDITORS),
    ("Programs", "/console/programs", VIEWERS),
    ("Templates", "/console/templates", EDITORS),
    ("Messages", "/console/messages", VIEWERS),
    ("Users", "/console/users", ADMINS),
    ("Audit", "/console/audit", AUDITORS),
)


def navigation(user: Principal, path: str) -> list[Link]:
    """The menu entries `user`'s role may open; the current one is marked for screen readers."""
    return [
        Link(label, href, path == href or (href != "/console" and path.startswith(href + "/")))
        for label, href, guard in _MENU
        if guard.admits(user)
    ]


def may(user: Principal | None, guard: Guard) -> bool:
    return guard.admits(user)
