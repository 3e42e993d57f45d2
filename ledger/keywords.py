"""SMS keywords: the whole message, case and spaces ignored, in the STOP, START or HELP family."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Family = Literal["stop", "start", "help"]

STOP_WORDS = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT")
START_WORDS = ("START", "YES", "UNSTOP")
HELP_WORDS = ("HELP", "INFO")


def normalise_keyword(body: str) -> str:
    """`" Stop all. "` → `STOPALL`: spaces and case ignored, a final full stop or bang too."""
    return "".join(body.split()).upper().rstrip(".!")


@dataclass(frozen=True, slots=True)
class Keywords:
    """The keyword lists of one deployment (settings may replace each family's list)."""

    stop: frozenset[str] = frozenset(STOP_WORDS)
    start: frozenset[str] = frozenset(START_WORDS)
    help: frozenset[str] = frozenset(HELP_WORDS)

    def classify(self, body: str) -> tuple[Family, str] | None:
        """The family and the keyword as normalised, or None for an ordinary message."""
        word = normalise_keyword(body)
        for family, words in (("stop", self.stop), ("start", self.start), ("help", self.help)):
            if word in words:
                return family, word  # type: ignore[return-value]
        return None
