"""Revocation in any reasonable words: is an SMS reply that is not a keyword an opt-out?

Since the FCC's 2024 TCPA order, a consumer may revoke consent "by any reasonable means", not only
with STOP. A reply is classified as one of:

- `revoke`: it plainly revokes ("stop texting me", "unsubscribe please", "remove me", "no more
  messages", "dejen de enviarme mensajes"): an opt-out at once, like STOP;
- `review`: it might ("stop by the store later?", "cancel my order", "not interested"): staff
  confirm or dismiss it from the review queue, before its deadline;
- `none`: an ordinary message.

Languages: English always, and each language one of whose usual stop keywords appears in the
deployment's STOP list (adding `BAJA` or `PARAR` to it turns Spanish on, `ARRET` French, `STOPP`
German, `SAIR` Portuguese, `BASTA` Italian). Matching is on a folded form of the text (case,
accents and punctuation ignored), phrase by phrase, so a classification names what decided it.

Pure: no I/O. Precision matters more than recall for `revoke` (a wrong opt-out silences a
customer); anything revoking that is not plain goes to `review`, never to `none`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from ledger.revocation_lexicon import ENGLISH, LEXICONS, Lexicon

__all__ = ["Classification", "RevocationClassifier", "Verdict", "fold_text"]

Verdict = Literal["revoke", "review", "none"]

_NOT_WORD = re.compile(r"[^a-z0-9]+")


def fold_text(text: str) -> str:
    """`"¡No me envíen MÁS!"` → `"no me envien mas"`: accents, case, apostrophes and punctuation gone."""
    decomposed = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    plain = plain.replace("'", "").replace("\u2019", "")  # don't → dont
    return _NOT_WORD.sub(" ", plain).strip()


@dataclass(frozen=True, slots=True)
class Classification:
    """The verdict, the language whose phrase decided it, and that phrase as matched (folded)."""

    verdict: Verdict
    language: str | None = None
    matched: str | None = None


@dataclass(frozen=True, slots=True)
class RevocationClassifier:
    """Classifies replies in English and in the languages the STOP keywords name."""

    stop_keywords: frozenset[str] = frozenset()
    lexicons: tuple[Lexicon, ...] = field(default=(ENGLISH,))

    @classmethod
    def for_keywords(cls, stop_keywords: Iterable[str]) -> RevocationClassifier:
        """The classifier for a deployment's STOP list (which also decides its languages)."""
        words = frozenset(fold_text(k).replace(" ", "") for k in stop_keywords)
        chosen = tuple(lex for lex in LEXICONS if lex.code == "en" or lex.signature & words)
        return cls(stop_keywords=words, lexicons=chosen)

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(lex.code for lex in self.lexicons)

    def classify(self, body: str) -> Classification:
        text = fold_text(body)
        if not text:
            return Classification("none")
        for lexicon in self.lexicons:  # a negated revocation ("don't stop") is never plain
            hit = lexicon.negated_match(text)
            if hit:
                return Classification("review", lexicon.code, hit)
        for lexicon in self.lexicons:
            hit = lexicon.revoking_match(text)
            if hit:
                return Classification("revoke", lexicon.code, hit)
        tokens = text.split()
        stops = self.stop_keywords.union(*(lex.stop_words for lex in self.lexicons))
        fillers = frozenset().union(*(lex.fillers for lex in self.lexicons))
        said = [t for t in tokens if t in stops]
        if said and all(t in stops or t in fillers for t in tokens):
            return Classification("revoke", self._language_of(said[0]), " ".join(tokens))
        if said:
            return Classification("review", self._language_of(said[0]), said[0])
        for lexicon in self.lexicons:
            hit = lexicon.doubtful_match(text)
            if hit:
                return Classification("review", lexicon.code, hit)
        return Classification("none")

    def _language_of(self, word: str) -> str | None:
        for lexicon in self.lexicons:
            if word in lexicon.stop_words:
                return lexicon.code
        return None
