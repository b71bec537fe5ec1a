"""Params (immutable once logged) and run tags (set, overwrite, delete)."""

from __future__ import annotations

from conformance_tests._api import Api, param_map, tag_map

NO_SUCH_RUN = "f" * 32


def test_log_param_appears_in_run(api: Api, run_id: str) -> None:
    api.ok("POST", "runs/log-parameter", {"run_id": run_id, "key": "lr", "value": "0.01"})
    assert param_map(api.get_run(run_id)) == {"lr": "0.01"}


def test_relogging_param_with_same_value_is_accepted(api: Api, run_id: str) -> None:
    api.ok("POST", "runs/log-parameter", {"run_id": run_id, "key": "lr", "value": "0.01"})
    api.ok("POST", "runs/log-parameter", {"run_id": run_id, "key": "lr", "value": "0.01"})


def test_changing_param_value_is_rejected(api: Api, run_id: str) -> None:
    api.ok("POST", "runs/log-parameter", {"run_id": run_id, "key": "lr", "value": "1"})
    body = {"run_id": run_id, "key": "lr", "value": "2"}
    api.error("POST", "runs/log-parameter", body, status=400, code="INVALID_PARAMETER_VALUE")
    assert param_map(api.get_run(run_id)) == {"lr": "1"}


def test_param_key_of_251_characters_is_rejected(api: Api, run_id: str) -> None:
    body = {"run_id": run_id, "key": "k" * 251, "value": "v"}
    api.error("POST", "runs/log-parameter", body, status=400, code="INVALID_PARAMETER_VALUE")


def test_param_value_of_6000_characters_is_stored(api: Api, run_id: str) -> None:
    api.ok("POST", "runs/log-parameter", {"run_id": run_id, "key": "long", "value": "v" * 6000})
    assert param_map(api.get_run(run_id)) == {"long": "v" * 6000}


def test_log_param_to_unknown_run_is_404(api: Api) -> None:
    body = {"run_id": NO_SUCH_RUN, "key": "k", "value": "v"}
    api.error("POST", "runs/log-parameter", body, status=404, code="RESOURCE_DOES_NOT_EXIST")


def test_set_tag_overwrites_value(api: Api, run_id: str) -> None:
    api.ok("POST", "runs/set-tag", {"run_id": run_id, "key": "t", "value": "a"})
    api.ok("POST", "runs/set-tag", {"run_id": run_id, "key": "t", "value": "b"})
    assert tag_map(api.get_run(run_id))["t"] == "b"


def test_delete_tag_removes_it(api: Api, run_id: str) -> None:
    api.ok("POST", "runs/set-tag", {"run_id": run_id, "key": "t", "value": "a"})
    api.ok("POST", "runs/delete-tag", {"run_id": run_id, "key": "t"})
    assert "t" not in tag_map(api.get_run(run_id))


def test_delete_missing_tag_is_404(api: Api, run_id: str) -> None:
    api.error("POST", "runs/delete-tag", {"run_id": run_id, "key": "nope"}, status=404, code="RESOURCE_DOES_NOT_EXIST")


def test_tag_key_of_251_characters_is_rejected(api: Api, run_id: str) -> None:
    body = {"run_id": run_id, "key": "k" * 251, "value": "v"}
    api.error("POST", "runs/set-tag", body, status=400, code="INVALID_PARAMETER_VALUE")
