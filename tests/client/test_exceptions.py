"""The exception tree: MLflow compatibility, choice of class by error code then status, redaction, pickling."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest
from mlflow_client import exceptions as exc
from mlflow_client._generated import models as m
from mlflow_client.exceptions import (
    BadRequest,
    EndpointNotFound,
    FeatureNotImplemented,
    InternalError,
    InvalidParameterValue,
    MlflowException,
    PermissionDenied,
    RequestLimitExceeded,
    ResourceAlreadyExists,
    ResourceNotFound,
    RestException,
    TemporarilyUnavailable,
    Unauthenticated,
    error_from_response,
)


def _body(code: str, message: str = "boom") -> bytes:
    return json.dumps({"error_code": code, "message": message}).encode()


def test_error_code_table_matches_the_spec() -> None:
    assert {name: number for name, (number, _) in exc.ERROR_CODES.items()} == m.ErrorCode.NUMBERS
    assert {name: status for name, (_, status) in exc.ERROR_CODES.items()} == m.ErrorCode.HTTP_STATUS


def test_mlflow_exception_behaves_like_mlflows() -> None:
    import mlflow.exceptions
    from mlflow.protos import databricks_pb2

    mlflow_exceptions: Any = mlflow.exceptions
    ours = MlflowException("bad thing")
    theirs = mlflow_exceptions.MlflowException("bad thing")
    assert (str(ours), ours.message, ours.error_code) == (str(theirs), theirs.message, theirs.error_code)
    assert ours.get_http_status_code() == theirs.get_http_status_code() == 500
    assert ours.http_status is None
    for name in ("RESOURCE_ALREADY_EXISTS", "INVALID_PARAMETER_VALUE", "NOT_IMPLEMENTED", "REQUEST_LIMIT_EXCEEDED"):
        number = databricks_pb2.ErrorCode.Value(name)
        theirs = mlflow_exceptions.MlflowException("x", error_code=number)
        for ours in (MlflowException("x", error_code=name), MlflowException("x", error_code=number)):
            assert ours.error_code == theirs.error_code == name
            assert ours.get_http_status_code() == theirs.get_http_status_code()


def test_serialize_as_json_and_invalid_parameter_value_shortcut() -> None:
    e = MlflowException.invalid_parameter_value("bad key", hint="use another")
    assert e.error_code == "INVALID_PARAMETER_VALUE"
    assert json.loads(e.serialize_as_json()) == {
        "error_code": "INVALID_PARAMETER_VALUE",
        "message": "bad key",
        "hint": "use another",
    }


def test_unknown_code_number_becomes_internal_error_as_in_mlflow() -> None:
    assert MlflowException("x", error_code=424242).error_code == "INTERNAL_ERROR"


def test_client_side_invalid_parameter_value_is_not_a_server_answer() -> None:
    e = InvalidParameterValue("Invalid metric name: ''")
    assert (e.error_code, e.http_status, e.get_http_status_code()) == ("INVALID_PARAMETER_VALUE", None, 400)
    assert isinstance(e, BadRequest) and isinstance(e, MlflowException)
    assert not isinstance(e, RestException)
    assert str(e) == "Invalid metric name: ''"


def test_each_class_has_its_own_default_code() -> None:
    assert ResourceNotFound("no run").error_code == "RESOURCE_DOES_NOT_EXIST"
    assert ResourceAlreadyExists("dup").error_code == "RESOURCE_ALREADY_EXISTS"
    assert FeatureNotImplemented("no").error_code == "NOT_IMPLEMENTED"
    assert ResourceNotFound("no run", error_code="NOT_FOUND").error_code == "NOT_FOUND"


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "RESOURCE_ALREADY_EXISTS", ResourceAlreadyExists),  # MLflow's pairing: code wins over status
        (400, "INVALID_PARAMETER_VALUE", InvalidParameterValue),
        (400, "BAD_REQUEST", BadRequest),
        (400, "MALFORMED_REQUEST", BadRequest),
        (404, "RESOURCE_DOES_NOT_EXIST", ResourceNotFound),
        (404, "ENDPOINT_NOT_FOUND", EndpointNotFound),
        (401, "UNAUTHENTICATED", Unauthenticated),
        (403, "PERMISSION_DENIED", PermissionDenied),
        (429, "REQUEST_LIMIT_EXCEEDED", RequestLimitExceeded),
        (503, "TEMPORARILY_UNAVAILABLE", TemporarilyUnavailable),
        (500, "INTERNAL_ERROR", InternalError),
        (501, "NOT_IMPLEMENTED", FeatureNotImplemented),
        (500, "NOT_IMPLEMENTED", FeatureNotImplemented),  # code first, whatever the status
        (200, "RESOURCE_DOES_NOT_EXIST", ResourceNotFound),
    ],
)
def test_class_is_chosen_by_error_code_first(status: int, code: str, cls: type[MlflowException]) -> None:
    e = error_from_response(status, _body(code, "details"))
    assert isinstance(e, cls) and isinstance(e, RestException)
    assert type(e).__name__ == cls.__name__
    assert (e.error_code, e.http_status) == (code, status)
    assert e.message == str(e) == f"{code}: details"
    assert e.json == {"error_code": code, "message": "details"}


@pytest.mark.parametrize(
    ("status", "cls", "code"),
    [
        (400, BadRequest, "BAD_REQUEST"),
        (401, Unauthenticated, "UNAUTHENTICATED"),
        (403, PermissionDenied, "PERMISSION_DENIED"),
        (404, EndpointNotFound, "ENDPOINT_NOT_FOUND"),
        (405, EndpointNotFound, "ENDPOINT_NOT_FOUND"),
        (429, RequestLimitExceeded, "REQUEST_LIMIT_EXCEEDED"),
        (500, InternalError, "INTERNAL_ERROR"),
        (501, FeatureNotImplemented, "NOT_IMPLEMENTED"),
        (502, TemporarilyUnavailable, "TEMPORARILY_UNAVAILABLE"),
        (503, TemporarilyUnavailable, "TEMPORARILY_UNAVAILABLE"),
        (504, TemporarilyUnavailable, "DEADLINE_EXCEEDED"),
    ],
)
def test_status_decides_when_the_body_has_no_code(status: int, cls: type[MlflowException], code: str) -> None:
    e = error_from_response(status, b"<html><body>Bad Gateway</body></html>", method="GET", path="/api/x")
    assert isinstance(e, cls) and isinstance(e, RestException)
    assert (e.error_code, e.http_status) == (code, status)
    assert "GET /api/x" in e.message and f"HTTP {status}" in e.message and "Bad Gateway" in e.message


def test_unclassified_status_gives_a_plain_rest_exception() -> None:
    e = error_from_response(418, b"teapot")
    assert type(e) is RestException and (e.error_code, e.http_status) == ("BAD_REQUEST", 418)
    e = error_from_response(599, b"")
    assert type(e) is RestException and e.error_code == "INTERNAL_ERROR"


def test_unknown_code_is_kept_and_the_status_picks_the_class() -> None:
    e = error_from_response(404, _body("SHINY_NEW_CODE"))
    assert isinstance(e, EndpointNotFound) and e.error_code == "SHINY_NEW_CODE"


def test_json_without_message_and_non_object_json() -> None:
    e = error_from_response(400, b'{"error_code": "BAD_REQUEST"}')
    assert e.message.startswith("BAD_REQUEST: Response: ")
    e = error_from_response(500, b"[1, 2]")
    assert isinstance(e, InternalError) and e.error_code == "INTERNAL_ERROR"


def test_message_format_matches_mlflows_rest_exception() -> None:
    import mlflow.exceptions

    mlflow_exceptions: Any = mlflow.exceptions
    payload = {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "No Experiment with id=42 exists"}
    theirs = mlflow_exceptions.RestException(payload)
    ours = error_from_response(404, json.dumps(payload).encode())
    assert (ours.message, ours.error_code) == (theirs.message, theirs.error_code)
    # and MLflow's constructor signature works too
    compat = RestException(payload)
    assert (compat.message, compat.error_code, compat.json) == (theirs.message, theirs.error_code, payload)


def test_body_is_truncated() -> None:
    e = error_from_response(502, b"x" * 100_000)
    assert len(e.body) == exc.MAX_BODY_CHARS
    assert len(e.message) < exc.MAX_MESSAGE_BODY_CHARS + 200


def test_secrets_are_cut_out_of_body_and_message() -> None:
    secret = "hunter2-secret-value"
    body = json.dumps({"error_code": "BAD_REQUEST", "message": f"you sent Authorization: Basic {secret}"}).encode()
    e = error_from_response(400, body, secrets=[secret, None, ""])
    for text in (str(e), e.message, e.body, repr(e), json.dumps(e.json)):
        assert secret not in text
    assert "***" in e.message
    plain = error_from_response(502, f"echo {secret}".encode(), secrets=[secret])
    assert secret not in plain.message and secret not in plain.body


@pytest.mark.parametrize(
    "error",
    [
        InvalidParameterValue("bad", http_status=None),
        error_from_response(400, _body("RESOURCE_ALREADY_EXISTS", "dup")),
        error_from_response(502, b"<html>"),
        RestException("x", "BAD_REQUEST", 400, body="raw"),
        exc.ConnectionFailed("refused"),
        MlflowException("x", error_code="NOT_FOUND", extra=1),
    ],
)
def test_exceptions_survive_pickling(error: MlflowException) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert copy.__dict__ == error.__dict__
    assert str(copy) == str(error)


def test_every_public_name_is_exported() -> None:
    public = {
        name
        for name, value in vars(exc).items()
        if isinstance(value, type) and issubclass(value, MlflowException) and not name.startswith("_")
    }
    assert public <= set(exc.__all__)
    assert "error_from_response" in exc.__all__
