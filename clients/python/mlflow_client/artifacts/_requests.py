"""The requests sessions of the stores whose SDKs send through requests (Azure Blob, Google Cloud Storage).

Two things the SDKs leave at requests' defaults cost a small file most of its client time, and are set
here: the pool holds 10 connections per host (more files at once than that open and discard connections,
with a urllib3 warning each), and with ``trust_env`` requests scans the whole environment for proxy
variables at every request (``apply_settings`` takes them from ``Settings`` instead, once). A third
costs a big download most of its client time: google-cloud-storage reads a response 8 KiB at a time,
so the adapter's responses read at least ``READ_BLOCK`` bytes at a time.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from .._proxies import proxy_for
from .._settings import Settings

#: Bytes per socket send of a streamed request body (urllib3's default: 8 KiB).
SEND_BLOCK = 256 * 1024
#: Fewest bytes a response body is read in (google-cloud-storage asks for 8 KiB: a 200 MB download made
#: 25,600 trips through urllib3, four fifths of its client CPU).
READ_BLOCK = 1024 * 1024


def pooled_adapter(pool: int) -> Any:
    """A requests adapter keeping ``pool`` connections per host, with no retries of its own (the SDKs retry),
    big sends and big reads."""
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    class _BigReads(requests.Response):
        """A response whose body is streamed in blocks of at least ``READ_BLOCK`` bytes (the last one
        shorter); ``chunk_size=None``, blocks as they arrive, is kept."""

        def iter_content(self, chunk_size: int | None = 1, *args: Any, **kwargs: Any) -> Any:
            if isinstance(chunk_size, int):
                chunk_size = max(chunk_size, READ_BLOCK)
            return super().iter_content(chunk_size, *args, **kwargs)

    class _BigBlocks(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            kwargs["blocksize"] = SEND_BLOCK
            super().init_poolmanager(*args, **kwargs)

        def build_response(self, req: Any, resp: Any) -> Any:
            response = super().build_response(req, resp)
            response.__class__ = _BigReads  # the same object, with only iter_content changed
            return response

    return _BigBlocks(
        pool_connections=4, pool_maxsize=pool, max_retries=Retry(total=False, redirect=False, raise_on_status=False)
    )


def mount(session: Any, adapter: Any) -> None:
    """Send every ``http://`` and ``https://`` request of ``session`` through ``adapter``."""
    session.mount("https://", adapter)
    session.mount("http://", adapter)


def apply_settings(session: Any, url: str, settings: Settings) -> None:
    """Route and verify ``session``'s requests to ``url`` as ``settings`` say, not by the environment that
    requests would scan at every request (``trust_env`` is turned off).

    The proxy is ``proxy_for``'s, as for the tracking transport; the CA bundle is ``REQUESTS_CA_BUNDLE``,
    else ``CURL_CA_BUNDLE``, as requests would read them (else requests' own default, certifi's).
    """
    session.trust_env = False
    proxy = proxy_for(settings, url)
    if proxy is not None:
        session.proxies[urlsplit(url).scheme.lower()] = proxy
    if settings.ca_bundle is not None:
        session.verify = settings.ca_bundle
