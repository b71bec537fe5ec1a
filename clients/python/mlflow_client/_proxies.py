"""Which proxy a request goes through, decided from ``Settings`` (never from ``os.environ`` here).

The variables are the ones requests (so MLflow) and curl read: ``HTTP_PROXY`` and ``HTTPS_PROXY`` by the
URL's scheme, ``ALL_PROXY`` when the scheme has none, and ``NO_PROXY`` for hosts reached directly; the
lowercase names win (``Settings.from_env`` reads them). ``NO_PROXY`` is matched by the standard library's
rules (``urllib.request.proxy_bypass_environment``): ``*``, host names, and domain suffixes with or
without a leading dot; and, as requests matches them, IP addresses inside CIDR blocks (``10.0.0.0/8``).
A proxy without a scheme is ``http://``. Every transport and store session asks here, so the sync and
async transports and the Azure and GCS sessions route alike.

Standard library only.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ._settings import Settings

__all__ = ["proxy_for"]


def proxy_for(settings: Settings, url: str) -> str | None:
    """The proxy URL that requests to ``url`` go through, or ``None`` to connect directly."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    proxy = {"http": settings.http_proxy, "https": settings.https_proxy}.get(scheme) or settings.all_proxy
    if proxy is None:
        return None
    if settings.no_proxy is not None and _bypassed(parts.hostname or "", settings.no_proxy):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


def _bypassed(host: str, no_proxy: str) -> bool:
    import urllib.request

    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]  # not in typeshed
    return bool(bypass(host, {"no": no_proxy})) or _in_a_network(host, no_proxy)


def _in_a_network(host: str, no_proxy: str) -> bool:
    """Whether ``host`` is an IP address inside one of the CIDR blocks of ``no_proxy`` (``10.0.0.0/8``), which
    requests (so MLflow) honours and urllib's rules do not."""
    import ipaddress

    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a host name: CIDR blocks do not apply
    for entry in no_proxy.split(","):
        if "/" in entry:
            try:
                if address in ipaddress.ip_network(entry.strip(), strict=False):
                    return True
            except ValueError:
                continue  # not a block: urllib's rules had their say
    return False
