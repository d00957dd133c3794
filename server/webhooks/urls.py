"""Which URLs may receive webhooks.

Outbound webhooks let a tenant make our servers send requests, so a URL must not lead to
our own network: loopback, private, link-local (cloud metadata lives there), multicast,
reserved and unspecified addresses are refused unless WEBHOOK_ALLOW_PRIVATE_URLS is on.
The check runs when an endpoint is created and again before each batch of delivery
attempts, after DNS resolution, and the batch's requests then go to the address that was
checked, so a name that resolves elsewhere later (DNS rebinding) cannot slip through."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

import httpx

MAX_URL_LENGTH = 2000
RESOLVE_TIMEOUT = 5.0
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UrlRefused(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def address_allowed(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def parse_url(raw: str) -> httpx.URL:
    """The URL if its form is acceptable (http or https, a host, no credentials)."""
    text = raw.strip()
    if not text or len(text) > MAX_URL_LENGTH:
        raise UrlRefused(f"Enter a URL of at most {MAX_URL_LENGTH} characters.")
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, ValueError):
        raise UrlRefused("This is not a valid URL.") from None
    if url.scheme not in ("http", "https"):
        raise UrlRefused("Use an http or https URL.")
    if not url.host:
        raise UrlRefused("The URL needs a host.")
    if url.userinfo:
        raise UrlRefused("Put no credentials in the URL; verify the signature instead.")
    if url.fragment:
        raise UrlRefused("The URL must not have a fragment.")
    return url


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_host_form(url: httpx.URL) -> None:
    """Refuse what is private on its face: an address literal or a local name."""
    host = url.host.lower().rstrip(".")
    address = _literal(host)
    if address is not None and not address_allowed(address):
        raise UrlRefused("The URL points at a private or reserved address.")
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        raise UrlRefused("The URL points at a local host name.")


async def resolve(host: str, port: int) -> list[IPAddress]:
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT
        )
    except (OSError, TimeoutError) as exc:
        raise UrlRefused(f"The host name did not resolve ({type(exc).__name__}).") from None
    addresses = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def port_of(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


async def check_resolved(url: httpx.URL) -> None:
    """At creation: refuse a name that resolves to a private address now. A name that does
    not resolve yet is accepted (deliveries fail and retry until it does)."""
    try:
        addresses = await resolve(url.host, port_of(url))
    except UrlRefused:
        return
    if any(not address_allowed(a) for a in addresses):
        raise UrlRefused("The host name resolves to a private or reserved address.")


@dataclass(frozen=True)
class Target:
    """Where one attempt connects: the URL (with the checked address in place of the name
    when pinned) and the extensions that keep Host and TLS on the original name."""

    url: httpx.URL
    host_header: str | None
    sni_hostname: str | None


async def delivery_target(raw: str, *, allow_private: bool) -> Target:
    url = parse_url(raw)
    if allow_private:
        return Target(url, None, None)
    check_host_form(url)
    if _literal(url.host) is not None:
        return Target(url, None, None)
    addresses = await resolve(url.host, port_of(url))
    refused = [a for a in addresses if not address_allowed(a)]
    if refused or not addresses:
        raise UrlRefused(f"{url.host} resolves to a private or reserved address.")
    return pinned_target(url, addresses[0])


def pinned_target(url: httpx.URL, address: IPAddress) -> Target:
    """Connect to `address`, but speak to the server as `url`'s host name."""
    host_header = url.host if url.port is None else f"{url.host}:{url.port}"
    sni = url.host if url.scheme == "https" else None
    return Target(url.copy_with(host=str(address)), host_header, sni)
