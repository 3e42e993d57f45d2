"""`bench revocation`: precision and recall of the revocation classifier on the labelled corpus.

The corpus (`revocation_corpus.tsv` beside this file) holds hand-labelled replies to marketing
SMS in every language the classifier knows. A `revoke` verdict is the positive prediction (an
opt-out at once); `review` is counted apart: it neither opts anyone out nor lets a revocation
pass unseen.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from importlib import resources
from typing import NamedTuple

from ledger.keywords import STOP_WORDS
from ledger.revocation import RevocationClassifier

# One usual STOP keyword per extra language, so every lexicon is on.
EVERY_LANGUAGE = (*STOP_WORDS, "BAJA", "ARRET", "STOPP", "SAIR", "BASTA")


class Labelled(NamedTuple):
    revoking: bool
    language: str
    text: str


def corpus() -> Iterator[Labelled]:
    """The labelled replies (`revoking` or `not_revoking`, language, text), in file order."""
    text = resources.files(__package__).joinpath("revocation_corpus.tsv").read_text("utf-8")
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            label, language, reply = line.split("\t", 2)
            if label not in ("revoking", "not_revoking"):
                raise ValueError(f"unknown label {label!r} in the revocation corpus")
            yield Labelled(label == "revoking", language, reply)


def run(classifier: RevocationClassifier | None = None) -> dict[str, object]:
    """Classify the corpus; precision and recall of `revoke`, and where the rest went."""
    classifier = classifier or RevocationClassifier.for_keywords(EVERY_LANGUAGE)
    counts: Counter[tuple[bool, str]] = Counter()
    missed: list[str] = []
    for item in corpus():
        verdict = classifier.classify(item.text).verdict
        counts[item.revoking, verdict] += 1
        if item.revoking and verdict == "none":
            missed.append(item.text)
    true_pos, false_pos = counts[True, "revoke"], counts[False, "revoke"]
    revoking = sum(n for (label, _), n in counts.items() if label)
    return {
        "languages": ",".join(classifier.languages),
        "revoking_replies": revoking,
        "other_replies": sum(n for (label, _), n in counts.items() if not label),
        "precision": round(true_pos / (true_pos + false_pos), 4) if true_pos + false_pos else 1.0,
        "recall": round(true_pos / revoking, 4) if revoking else 1.0,
        "revoking_sent_to_review": counts[True, "review"],
        "revoking_missed": len(missed),
        "others_sent_to_review": counts[False, "review"],
        "others_opted_out": false_pos,
    }
