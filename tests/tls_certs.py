"""Real certificates for TLS tests: a throwaway CA (trustme) that signs a server and a client certificate."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class Certs:
    ca: str  # the CA bundle that signed the server's and the client's certificates
    server_cert: str
    server_key: str
    client_pem: str  # client certificate and key in one PEM, as MLFLOW_TRACKING_CLIENT_CERT_PATH wants


def issue_certs(folder: Path) -> Certs:
    """Write a CA, a certificate for 127.0.0.1/localhost and a client certificate into ``folder``."""
    import trustme

    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert("client@example.com")
    paths = Certs(
        str(folder / "ca.pem"), str(folder / "server.pem"), str(folder / "server.key"), str(folder / "client.pem")
    )
    ca.cert_pem.write_to_path(paths.ca)
    for i, pem in enumerate(server.cert_chain_pems):
        pem.write_to_path(paths.server_cert, append=i > 0)
    server.private_key_pem.write_to_path(paths.server_key)
    client.private_key_and_cert_chain_pem.write_to_path(paths.client_pem)
    return paths
