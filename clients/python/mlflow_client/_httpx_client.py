"""The httpx client the transport uses: plain ``httpx.Client`` minus per-response cookie work.

httpx hands every response to ``http.cookiejar`` (through urllib request/response adapters) even when it
sets no cookie; on a 10 KB artifact GET that was ~0.1 ms of ~0.45 ms of client time. Here responses
without ``Set-Cookie`` skip it; cookies that are set are kept and sent back exactly as httpx does (auth
proxies in front of tracking servers use them). Imported lazily, with httpx, on the first transport.
"""

from __future__ import annotations

import httpx


class _ResponseCookies(httpx.Cookies):
    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


class Client(httpx.Client):
    """``httpx.Client`` whose cookie jar is only consulted when a response sets a cookie."""

    @property
    def cookies(self) -> httpx.Cookies:
        return self._cookies

    @cookies.setter
    def cookies(self, cookies: httpx._types.CookieTypes) -> None:
        self._cookies = _ResponseCookies(cookies)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.cookies = self._cookies  # re-wrap what the base class made
