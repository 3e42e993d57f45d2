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


class ForbiddenError(DomainError):
    """The caller may not do this, whatever the state (for example a service key acting as staff)."""


class TryLaterError(DomainError):
    """Another change of the same thing is still being recorded; `retry_after` in seconds."""

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InvalidCommandError(DomainError):
    """The command is well-formed but not allowed in the aggregate's current state."""


class RateLimitedError(DomainError):
    """Too many requests of this kind for now; `retry_after` says when to try again (seconds)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class VerificationError(DomainError):
    """A code was refused (wrong, expired, locked or used); the message says which."""

    def __init__(
        self,
        message: str,
        outcome: str,
        attempts_left: int | None = None,
        position: int | None = None,
    ) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.attempts_left = attempts_left
        self.position = position  # the refusal is recorded too: where, in the ledger


class DisclosureChangedError(InvalidCommandError):
    """The disclosure text shown to the contact is no longer the program's current one."""
