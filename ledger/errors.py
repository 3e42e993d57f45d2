"""Domain errors: every rule the ledger refuses to break has an error class here."""

from __future__ import annotations


class DomainError(Exception):
    """A command was refused by a domain rule; the message is safe to show to the caller."""


class ConflictError(DomainError):
    """An append found a stream already past the expected version (someone else wrote first)."""


class NotFoundError(DomainError):
    """The aggregate or record asked for does not exist (or was erased)."""


class InvalidValueError(DomainError):
    """A value the domain cannot accept (for example text with control characters)."""


class InvalidCommandError(DomainError):
    """The command is well-formed but not allowed in the aggregate's current state."""
