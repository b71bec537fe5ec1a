"""The mlflow-artifacts RPCs over HTTP: streamed upload and download, list, delete, multipart."""

from __future__ import annotations

import mimetypes
from typing import TYPE_CHECKING
from urllib.parse import unquote

from mlflow_client._generated import models as m
from mlflow_client._generated._runtime import Endpoint, encode

from .artifacts import check_relative_path
from .errors import invalid

if TYPE_CHECKING:
    import msgspec

    from .app import RequestHandler, StubHTTPServer

_ARTIFACTS_SCHEME = "mlflow-artifacts:"


def serve_artifact_rpc(handler: RequestHandler, endpoint: Endpoint, path_args: dict[str, str], query: str) -> None:
    from .app import decode_request

    store = handler.server.artifacts
    rpc = endpoint.rpc
    artifact_path = path_args.get("artifact_path", "")
    response: msgspec.Struct
    if rpc == "downloadArtifact":
        size, chunks = store.open_for_read(artifact_path)
        handler.send_response(200)
        content_type = mimetypes.guess_type(artifact_path)[0] or "application/octet-stream"
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Disposition", f'attachment; filename="{artifact_path.rsplit("/", 1)[-1]}"')
        handler.send_header("Content-Length", str(size))
        handler.end_headers()
        if handler.command != "HEAD":
            for block in chunks:
                handler.wfile.write(block)
        return
    if rpc == "uploadArtifact":
        if artifact_path.endswith("/"):
            raise invalid("Artifact path must include a filename (cannot end with '/').")
        store.write(artifact_path, handler._body_chunks())
        handler._send(200, b"", None)  # MLflow answers an upload with an empty, untyped body
        return
    elif rpc == "listArtifacts":
        request = decode_request(endpoint, query, b"")
        assert isinstance(request, m.ArtifactsListArtifacts)
        response = m.ArtifactsListArtifactsResponse(files=store.listdir(request.path))
    elif rpc == "deleteArtifact":
        handler._drain()
        store.delete(artifact_path)
        response = m.ArtifactsDeleteArtifactResponse()
    else:
        request = decode_request(endpoint, query, handler._read_body())
        if isinstance(request, m.ArtifactsCreateMultipartUpload):
            response = store.create_multipart(artifact_path, request, handler.server.url)
        elif isinstance(request, m.ArtifactsCompleteMultipartUpload):
            store.complete_multipart(artifact_path, request)
            response = m.ArtifactsCompleteMultipartUploadResponse()
        elif isinstance(request, m.ArtifactsAbortMultipartUpload):
            store.abort_multipart(request)
            response = m.ArtifactsAbortMultipartUploadResponse()
        else:  # pragma: no cover - the router only sends artifact RPCs here
            raise invalid(f"unsupported artifact RPC {rpc}")
    handler._send(200, encode(response))


def serve_multipart_part(handler: RequestHandler, path: str) -> None:
    """PUT /_stub/multipart/<upload_id>/<part_number>: the presigned-URL stand-in for one part."""
    try:
        _, _, _, upload_id, part = path.split("/", 4)
        part_number = int(part)
    except ValueError:
        raise invalid(f"Bad multipart part URL {path}") from None
    etag = handler.server.artifacts.write_part(unquote(upload_id), part_number, handler._body_chunks())
    handler._send(200, b"", "text/plain", {"ETag": etag})


def list_run_artifacts(server: StubHTTPServer, request: msgspec.Struct) -> m.ListArtifactsResponse:
    """The tracking API's artifacts/list, for runs whose artifacts the proxy holds."""
    assert isinstance(request, m.ListArtifacts)
    run_id = request.run_id or request.run_uuid
    if not run_id:
        raise invalid("Missing value for required parameter 'run_id'.")
    if request.path:
        check_relative_path(request.path)  # before the run is looked up, as in MLflow
    run = server.store.get_run(run_id)
    uri = (run.info.artifact_uri if run.info else None) or ""
    if uri.lower().startswith("file:") or uri.startswith("/"):  # local artifacts (mlruns, a file: root): in place
        from mlflow_client.artifacts._local import LocalArtifactRepository
        from mlflow_client.exceptions import MlflowException

        try:
            files = LocalArtifactRepository(uri).list_artifacts(request.path or None)
        except MlflowException as err:
            raise invalid(err.message) from None
        return m.ListArtifactsResponse(root_uri=uri, files=[f._to_wire() for f in files])
    if not uri.startswith(_ARTIFACTS_SCHEME):
        raise invalid(f"The stub only lists artifacts it stores itself, not {uri}")
    root = uri[len(_ARTIFACTS_SCHEME) :].lstrip("/")
    path = request.path or ""
    if path:
        server.artifacts.resolve(f"{root}/{path}")  # refuse traversal before listing
    return m.ListArtifactsResponse(root_uri=uri, files=server.artifacts.list_run(root, path))
