"""JSON bodies decoded strictly into the handler's type, as the schema says them.

Litestar decodes a JSON body to plain values and then converts them leniently (as it must for
query strings), so `"archived": 0` became `False` and `"limit": "5"` a number: requests the
OpenAPI schema calls invalid were accepted. Decoding straight into the handler's `data` type
with msgspec's strict rules refuses them (422, naming the field), and is one pass instead of two.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException
from litestar.types import Empty

_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)


def _error(e: msgspec.ValidationError) -> ValidationException:
    """msgspec's "Expected `int`, got `str` - at `$.items[0].n`" as {key: items[0].n, message}."""
    found = _AT.match(str(e))
    message, path = (found["message"], found["path"] or "") if found else (str(e), "")
    key = path.lstrip(".") or "data"
    return ValidationException(message, extra=[{"key": key, "source": "body", "message": message}])


class StrictJsonRequest(Request[Any, Any, Any]):
    """A request whose `json()` is the handler's `data`, decoded strictly (msgspec types only)."""

    async def json(self) -> Any:
        field = self.route_handler.parsed_data_field
        target = field.annotation if field is not None else None
        if target is None or not _strict_type(target):
            return await super().json()
        if (cached := self._connection_state.json) is not Empty:
            return cached
        body = await self.body()
        try:
            value = msgspec.json.decode(body or b"null", type=target, strict=True)
        except msgspec.ValidationError as e:
            raise _error(e) from None
        except msgspec.DecodeError as e:
            raise ValidationException(str(e)) from None  # "JSON is malformed: …": a 400
        self._connection_state.json = value
        return value


def _strict_type(target: Any) -> bool:
    """Whether `target` is a JSON document type: a Struct, or a list of them (raw `bytes` bodies
    and the like are the handler's to read). Cached: inspecting a type took ~150 µs a request."""
    try:
        return _strict_type_of(target)
    except TypeError:  # an unhashable annotation: inspected every time
        return _strict_type_of.__wrapped__(target)


@functools.cache
def _strict_type_of(target: Any) -> bool:
    try:
        info = msgspec.inspect.type_info(target)
    except (TypeError, ValueError):
        return False
    if isinstance(info, msgspec.inspect.ListType):
        info = info.item_type
    return isinstance(info, msgspec.inspect.StructType)
