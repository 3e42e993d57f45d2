"""Checked import rows on disk between the two passes, split into partitions by contact.

The first pass writes every good row once (so no row is parsed twice, and nothing is held in
memory); the second reads them back. Rows are split by their address's blind index, so all rows
about one contact land in one partition, in file order: partitions can then be applied side by
side (by separate processes) without ever touching the same streams.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from uuid import UUID

import msgspec

from ledger.address import Address
from ledger.import_rows import ImportRow
from ledger.ports import Sealer

_ROW = msgspec.msgpack.Encoder()
_ROW_FIELDS = msgspec.msgpack.Decoder(tuple[int, str, str, UUID, str, datetime, str, str])


class Spools:
    """`partitions` files in `folder`; `keep` appends a row to its contact's partition."""

    def __init__(self, folder: Path, partitions: int, sealer: Sealer) -> None:
        self.paths = [folder / f"rows-{n}.spool" for n in range(partitions)]
        self._files = [p.open("wb") for p in self.paths]
        self._sealer = sealer

    def keep(self, row: ImportRow) -> None:
        a = row.address
        frame = _ROW.encode(
            (row.line, a.channel, a.value, row.optin_id, row.status, row.when, row.source, row.evidence)
        )
        index = self._sealer.blind_index(a.value)[0] % len(self._files) if len(self._files) > 1 else 0
        self._files[index].write(len(frame).to_bytes(4, "big") + frame)

    def close(self) -> None:
        for f in self._files:
            f.close()


def spooled_rows(path: Path) -> Iterator[ImportRow]:
    """The rows of one partition, in file order."""
    with path.open("rb") as f:
        read = f.read
        while header := read(4):
            line, channel, value, optin_id, status, when, source, evidence = _ROW_FIELDS.decode(
                read(int.from_bytes(header, "big"))
            )
            address = Address(channel, value)  # type: ignore[arg-type]
            yield ImportRow(line, address, optin_id, status, when, source, evidence)  # type: ignore[arg-type]
