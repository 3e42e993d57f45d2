"""Who is calling: the connection's peer, or the client a trusted proxy says it forwarded.

The one place the service reads `X-Forwarded-For` and `X-Forwarded-Proto` (uvicorn's own
proxy-header handling is off: by default it believes any loopback peer). A peer inside
`OPTIN_TRUSTED_PROXIES` may name the client; anyone else's forwarded headers are ignored, so a
caller cannot pick its own rate-limit bucket or the IP recorded as evidence.

`X-Forwarded-For` is read from the right: each proxy appends the address it saw, so the nearest
entries are the ones our proxies wrote. Walking left past our own proxies, the first address that
is not one of them is the client; anything further left came from the client and is not believed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from litestar.enums import ScopeType
from litestar.middleware import DefineMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(text: str) -> Address | None:
    try:
        found = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        return found.ipv4_mapped
    return found


class Proxies:
    """The trusted proxy networks, and the client a request came from."""

    def __init__(self, cidrs: Iterable[str]) -> None:
        self.networks: tuple[Network, ...] = tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)

    def trusts(self, address: Address | None) -> bool:
        return address is not None and any(address in n for n in self.networks)

    def client(self, peer: str | None, forwarded_for: Sequence[str]) -> str | None:
        """The client's address: `peer`, unless it is a trusted proxy that forwarded for someone."""
        hop = _address(peer) if peer else None
        if not self.trusts(hop):
            return peer
        entries = [e for header in forwarded_for for e in header.split(",") if e.strip()]
        for entry in reversed(entries):
            named = _address(entry)
            if named is None:  # one of our proxies wrote something unreadable: stop at it
                return str(hop)
            hop = named
            if not self.trusts(named):
                return str(named)
        return str(hop)  # every hop is ours: the farthest one is the client


class ForwardedClient:
    """ASGI middleware: `scope["client"]` (and the scheme) as the trusted proxies tell it."""

    def __init__(self, app: ASGIApp, proxies: Proxies) -> None:
        self.app = app
        self.proxies = proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and self.proxies.networks:
            peer = scope.get("client")
            host = peer[0] if peer else None
            if self.proxies.trusts(_address(host) if host else None):
                headers = scope.get("headers", ())
                forwarded = [v.decode("latin-1") for k, v in headers if k == b"x-forwarded-for"]
                client = self.proxies.client(host, forwarded)
                if client is not None and client != host:
                    scope["client"] = (client, 0)
                proto = next((v.decode("latin-1") for k, v in headers if k == b"x-forwarded-proto"), "")
                scheme = proto.split(",")[-1].strip().lower()
                if scheme in ("http", "https"):
                    scope["scheme"] = scheme
        await self.app(scope, receive, send)


def forwarded_client(cidrs: Iterable[str]) -> DefineMiddleware:
    return DefineMiddleware(ForwardedClient, proxies=Proxies(cidrs))
