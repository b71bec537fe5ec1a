"""The requests sessions of the stores whose SDKs send through requests (Azure Blob, Google Cloud Storage).

Two things the SDKs leave at requests' defaults cost a small file most of its client time, and are set
here: the pool holds 10 connections per host (more files at once than that open and discard connections,
with a urllib3 warning each), and with ``trust_env`` requests scans the whole environment for proxy
variables at every request.
"""

from __future__ import annotations

import os
from typing import Any

#: Bytes per socket send of a streamed request body (urllib3's default: 8 KiB).
SEND_BLOCK = 256 * 1024


def pooled_adapter(pool: int) -> Any:
    """A requests adapter keeping ``pool`` connections per host, with no retries of its own (the SDKs retry)
    and big sends."""
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    class _BigBlocks(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            kwargs["blocksize"] = SEND_BLOCK
            super().init_poolmanager(*args, **kwargs)

    return _BigBlocks(
        pool_connections=4, pool_maxsize=pool, max_retries=Retry(total=False, redirect=False, raise_on_status=False)
    )


def mount(session: Any, adapter: Any) -> None:
    """Send every ``http://`` and ``https://`` request of ``session`` through ``adapter``."""
    session.mount("https://", adapter)
    session.mount("http://", adapter)


def resolve_environment_once(session: Any, url: str) -> None:
    """Read the proxy and CA bundle variables now, for requests to ``url``, not at every request as requests
    does by default.

    The same variables requests reads (``HTTPS_PROXY``, ``NO_PROXY``, ``REQUESTS_CA_BUNDLE``,
    ``CURL_CA_BUNDLE``) are applied once here, and ``trust_env`` is turned off.
    """
    import requests.utils

    session.trust_env = False
    session.proxies.update(requests.utils.get_environ_proxies(url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
