"""Which address a request comes from, when proxies the operator names stand in front of the endpoint.

The address is what ``aws:SourceIp`` is evaluated against and what the trail records as ``sourceIPAddress``, so a
client must not be able to choose it. By default (no proxies named) it is the TCP peer's address, and no forwarding
header (``Forwarded``, ``X-Forwarded-For``, ``X-Real-IP``) is read at all. With proxies named
(``iamledger serve --forwarded-allow-ips``), a request whose peer is one of them has its client address taken from
``X-Forwarded-For``, read from the right (:meth:`TrustedProxies.client_address`); ``Forwarded`` and ``X-Real-IP``
are still never read.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Final

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ANY_PEER: Final = "*"
FORWARDED_FOR: Final = b"x-forwarded-for"


def _address(text: str) -> IPAddress | None:
    """``text`` as an IP address (IPv4-mapped IPv6 addresses as the IPv4 address they carry, as a dual-stack socket
    reports an IPv4 peer), or ``None``."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _forwarded_address(entry: str) -> IPAddress | None:
    """One ``X-Forwarded-For`` entry as an address: ``192.0.2.1``, ``192.0.2.1:5123``, ``2001:db8::1``,
    ``[2001:db8::1]`` or ``[2001:db8::1]:443``; ``None`` for anything else (``unknown``, a name, an empty entry)."""
    entry = entry.strip()
    if entry.startswith("["):
        host, bracket, port = entry[1:].partition("]")
        if not bracket or (port and not (port.startswith(":") and port[1:].isdigit())):
            return None
        return _address(host)
    if entry.count(":") == 1:  # IPv4 with a port (a bare IPv6 address has at least two colons)
        host, _, port = entry.partition(":")
        return _address(host) if port.isdigit() else None
    return _address(entry)


class TrustedProxies:
    """The proxies whose ``X-Forwarded-For`` the endpoint believes: addresses and networks, and whether any peer
    at all counts as one (``*``)."""

    PEERS_REMEMBERED: Final = 1024

    def __init__(
        self, addresses: Iterable[IPAddress] = (), networks: Iterable[IPNetwork] = (), *, any_peer: bool = False
    ) -> None:
        self.addresses = frozenset(addresses)
        self.networks = tuple(networks)
        self.any_peer = any_peer
        self._peers: dict[str, bool] = {}
        """Whether each peer seen is a proxy: an endpoint's peers are a few proxies, asked about on every request."""

    @classmethod
    def parse(cls, text: str | None) -> TrustedProxies | None:
        """``--forwarded-allow-ips``: comma-separated IP addresses, CIDR networks (``10.0.0.0/8``; host bits must be
        zero) and ``*`` (any peer). ``None`` when it names none (then no forwarding header is read). Raises
        ``ValueError`` on an item that is neither: a name or a typo is refused rather than trusted or ignored."""
        items = [item.strip() for item in (text or "").split(",") if item.strip()]
        if not items:
            return None
        addresses: list[IPAddress] = []
        networks: list[IPNetwork] = []
        any_peer = False
        for item in items:
            if item == ANY_PEER:
                any_peer = True
            elif "/" in item:
                try:
                    networks.append(ipaddress.ip_network(item))
                except ValueError as error:
                    raise ValueError(f"{item!r} is not an IP network ({error})") from None
            else:
                address = _address(item)
                if address is None:
                    raise ValueError(f"{item!r} is not an IP address or network")
                addresses.append(address)
        return cls(addresses, networks, any_peer=any_peer)

    def _named(self, address: IPAddress) -> bool:
        return address in self.addresses or any(address in network for network in self.networks)

    def _is_proxy(self, peer: str) -> bool:
        known = self._peers.get(peer)
        if known is None:
            address = _address(peer)
            known = address is not None and (self.any_peer or self._named(address))
            if len(self._peers) >= self.PEERS_REMEMBERED:  # many peers (``*``): start over rather than grow
                self._peers.clear()
            self._peers[peer] = known
        return known

    def is_proxy(self, peer: str | None) -> bool:
        """Whether ``peer`` (a TCP peer's address) is one of the proxies believed."""
        return peer is not None and self._is_proxy(peer)

    def client_address(self, peer: str | None, headers: Iterable[tuple[bytes, bytes]]) -> str | None:
        """The client's address, given the TCP ``peer``'s and the request's raw (lower-cased) headers.

        A peer that is not a proxy: its own address. A proxy's request: the ``X-Forwarded-For`` entries (every such
        header, in order, as one comma-separated list) are read from the right, each proxy having appended the
        address it received the request from; entries that are named proxies are passed over, and the first one that
        is not is the client's address (in its canonical form, without a port). What lies further left was written
        by the client or by hosts nobody vouches for, and is not believed. When every entry is a named proxy, the
        leftmost is the address (the request started at a proxy); without the header, the peer's. An entry that is
        not an address stops the walk at the last address vouched for: the entry to its right, or the peer.
        ``*`` makes any peer a proxy but no entry: the rightmost entry, the one the peer wrote, is then the address.
        """
        if peer is None or not self._is_proxy(peer):
            return peer
        values = [value for name, value in headers if name == FORWARDED_FOR]
        if not values:
            return peer
        entries = b",".join(values).decode("latin-1").split(",")
        client = peer
        for entry in reversed(entries):
            address = _forwarded_address(entry)
            if address is None:
                break
            client = str(address)
            if not self._named(address):
                break
        return client
