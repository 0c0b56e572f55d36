"""Who may read ``/metrics``: the guard's rule for it (guard.py calls ``metrics_access``).

Allowed when either
- the request carries ``Authorization: Bearer <METRICS_TOKEN>`` (when a token is configured),
  compared in constant time; or
- the client's address is in ``METRICS_ALLOW`` (loopback by default). The address is the TCP
  peer, or with ``TRUSTED_PROXIES`` the one the trusted proxies report. A request that carries
  forwarding headers the app does not trust (``TRUSTED_PROXIES=0``) came through some proxy
  whose own address (often loopback) says nothing about the client: it needs the token.

Signed-in admins get nothing extra here: metrics are for the monitoring system, and a browser
session is not how it authenticates.
"""

import hmac
import ipaddress
from dataclasses import dataclass

from flask import current_app, request

FORWARDING_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")


@dataclass(frozen=True)
class MetricsAccess:
    allowed: bool
    reason: str  # "token", "network", or why not


def _token_matches(authorization: str | None, token: str | None) -> bool:
    if not token or not authorization:
        return False
    scheme, _, value = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        value.strip().encode(), token.encode()
    )


def _address_allowed(remote_addr: str | None, networks) -> bool:
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == net.version and address in net for net in networks)


def metrics_access() -> MetricsAccess:
    """The decision for the current request (see the module doc)."""
    config = current_app.config
    if _token_matches(request.headers.get("Authorization"), config.get("METRICS_TOKEN")):
        return MetricsAccess(True, "token")
    if not config["TRUSTED_PROXIES"] and any(h in request.headers for h in FORWARDING_HEADERS):
        return MetricsAccess(False, "forwarded by an untrusted proxy")
    if _address_allowed(request.remote_addr, config["METRICS_ALLOW"]):
        return MetricsAccess(True, "network")
    return MetricsAccess(False, "address not in METRICS_ALLOW")
