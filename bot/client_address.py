"""Who is really on the other end, when the server runs behind proxies it trusts.

Forwarded headers are believed only from peers in `LEADBOT_TRUSTED_PROXIES`; from anyone else
they are whatever the client chose to send.
"""

from __future__ import annotations

from ipaddress import ip_address

from aiohttp import web

from bot.settings import ProxyNetwork


def trusted_peer(request: web.Request, proxies: tuple[ProxyNetwork, ...]) -> bool:
    if not proxies or request.remote is None:
        return False
    try:
        peer = ip_address(request.remote)
    except ValueError:  # a unix socket path, say
        return False
    if peer.version == 6 and peer.ipv4_mapped is not None:
        peer = peer.ipv4_mapped
    return any(peer in network for network in proxies)


def client_address(request: web.Request, proxies: tuple[ProxyNetwork, ...]) -> str:
    """The client's IP: the peer, or behind trusted proxies the nearest X-Forwarded-For hop
    that is not one of them (hops further away could be made up by the client)."""
    peer = request.remote or "unknown"
    if not trusted_peer(request, proxies):
        return peer
    hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            address = ip_address(hop)
        except ValueError:
            return peer  # a malformed chain is not believed
        if not any(address in network for network in proxies):
            return str(address)
    return peer
