"""Which addresses a webhook may call: HTTPS on a public address only (server-side request
forgery). The host is resolved and every address it resolves to must be public; this is
checked when the endpoint is saved and again before each delivery (an address can change).
Tests and development set ``WEBHOOKS_ALLOW_PRIVATE = True`` to call a receiver on loopback."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from cueillette.core.errors import ServiceError
from cueillette.webhooks.errors import Code


def allow_private() -> bool:
    return bool(getattr(settings, "WEBHOOKS_ALLOW_PRIVATE", False))


def _forbidden(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved
        or ip.is_unspecified or not ip.is_global
    )  # fmt: skip


def check_url(url: str, *, resolve: bool = True) -> tuple[str, int]:
    """(host, port) of an acceptable address, or a ServiceError on ``url`` saying why not."""
    parts = urlsplit((url or "").strip())
    if parts.scheme != "https" and not (allow_private() and parts.scheme == "http"):
        raise ServiceError(Code.INVALID_URL, _("the address must start with https://"), field="url")
    if not parts.hostname:
        raise ServiceError(Code.INVALID_URL, _("the address has no host name"), field="url")
    if parts.username or parts.password:
        raise ServiceError(
            Code.INVALID_URL, _("the address must not contain a user name or password"), field="url"
        )
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise ServiceError(
            Code.INVALID_URL, _("the port of the address is not valid"), field="url"
        ) from exc
    if resolve and not allow_private():
        try:
            infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError) as exc:
            raise ServiceError(
                Code.INVALID_URL,
                _("the host name %(h)s cannot be found") % {"h": parts.hostname},
                field="url",
            ) from exc
        for info in infos:
            ip = ipaddress.ip_address(info[4][0])
            if _forbidden(ip):
                raise ServiceError(
                    Code.FORBIDDEN_TARGET,
                    _(
                        "%(h)s leads to a private or local address (%(ip)s): only public addresses can receive webhooks"  # noqa: E501
                    )
                    % {"h": parts.hostname, "ip": ip},
                    field="url",
                )
    return parts.hostname, port
