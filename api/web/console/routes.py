"""Every console route handler, for the console router (`api/web/routers.py`)."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from api.web.console import (
    audit,
    contacts,
    dashboard,
    login,
    messages,
    programs,
    requests,
    revocations,
    templates,
    users,
)
from api.web.console.disclosures import disclosures_page, proof
from api.web.console.evidence import download_evidence

CONSOLE_HANDLERS: list[ControllerRouterHandler] = [
    login.login_page,
    login.log_in,
    login.log_out,
    dashboard.dashboard,
    contacts.contacts_page,
    contacts.search,
    contacts.contact_page,
    download_evidence,
    requests.requests_page,
    requests.submit,
    programs.programs_page,
    programs.new_program,
    programs.create,
    programs.program_page,
    disclosures_page,
    proof,
    programs.change,
    programs.preview,
    templates.templates_page,
    templates.new_template,
    templates.create,
    templates.template_page,
    templates.change,
    templates.preview,
    messages.messages_page,
    messages.message_page,
    users.users_page,
    users.create,
    users.change,
    users.issue,
    users.revoke,
    audit.audit_page,
    audit.download,
    audit.verify,
    revocations.revocations_page,
    revocations.confirm,
    revocations.dismiss,
]
