"""Where the server under test is and how to authenticate: resolved once, option > environment > default."""

from __future__ import annotations

import base64
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass

URL_ENV = "CONFORMANCE_URL"
_TRUE = {"true": True, "1": True, "false": False, "0": False}


def _bool(name: str, text: str | None) -> bool:
    if text is None or text == "":
        return False
    try:
        return _TRUE[text.strip().lower()]
    except KeyError:
        raise ValueError(f"{name} must be true/false/1/0, got {text!r}") from None


@dataclass(frozen=True)
class Settings:
    url: str
    username: str | None = None
    password: str | None = None
    token: str | None = None
    insecure: bool = False
    ca_bundle: str | None = None

    def __repr__(self) -> str:  # never show secrets
        return f"Settings(url={self.url!r}, username={self.username!r}, insecure={self.insecure})"

    @classmethod
    def resolve(
        cls,
        url: str | None = None,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        insecure: bool | None = None,
        ca_bundle: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Settings:
        env = os.environ if env is None else env
        resolved_url = url or env.get(URL_ENV) or ""
        return cls(
            url=resolved_url.rstrip("/"),
            username=username or env.get("MLFLOW_TRACKING_USERNAME") or None,
            password=password or env.get("MLFLOW_TRACKING_PASSWORD") or None,
            token=token or env.get("MLFLOW_TRACKING_TOKEN") or None,
            insecure=insecure
            if insecure is not None
            else _bool("MLFLOW_TRACKING_INSECURE_TLS", env.get("MLFLOW_TRACKING_INSECURE_TLS")),
            ca_bundle=ca_bundle or env.get("MLFLOW_TRACKING_SERVER_CERT_PATH") or None,
        )

    def headers(self) -> dict[str, str]:
        if self.username and self.password:
            basic = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            return {"Authorization": f"Basic {basic}"}
        if self.token:
            return {"Authorization": f"Bearer {self.token}"}
        return {}

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.ca_bundle)
        if self.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx
