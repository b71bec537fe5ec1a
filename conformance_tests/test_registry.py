"""The Model Registry: registered models, versions numbered per model, stages, aliases, tags, search, errors.

DELETE requests carry their fields as a JSON body, as MLflow's own client sends them (MLflow 3.17.2 reads
no query parameters on DELETE).
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance_tests._api import Api, JsonObj, unique

pytestmark = pytest.mark.capability("registry")
IPV = "INVALID_PARAMETER_VALUE"
RDNE = "RESOURCE_DOES_NOT_EXIST"


# -- helpers --------------------------------------------------------------------------------------------


def create_model(api: Api, name: str | None = None, **fields: Any) -> str:
    name = name or unique("model")
    data = api.ok("POST", "registered-models/create", {"name": name, **fields})
    assert data.get("registered_model", {}).get("name") == name, data
    return name


def get_model(api: Api, name: str) -> JsonObj:
    model: JsonObj = api.ok("GET", "registered-models/get", params={"name": name})["registered_model"]
    return model


def create_version(api: Api, name: str, source: tuple[str, str], **fields: Any) -> JsonObj:
    run_id, uri = source
    body = {"name": name, "source": uri, "run_id": run_id, **fields}
    version: JsonObj = api.ok("POST", "model-versions/create", body)["model_version"]
    assert isinstance(version.get("version"), str), f"version must be a string of digits: {version}"
    return version


def get_version(api: Api, name: str, version: str) -> JsonObj:
    mv: JsonObj = api.ok("GET", "model-versions/get", params={"name": name, "version": version})["model_version"]
    return mv


def by_alias(api: Api, name: str, alias: str) -> JsonObj:
    mv: JsonObj = api.ok("GET", "registered-models/alias", params={"name": name, "alias": alias})["model_version"]
    return mv


def alias_is_gone(api: Api, name: str, alias: str) -> None:
    """An unknown alias is an error: MLflow answers 400 INVALID_PARAMETER_VALUE, 404 RESOURCE_DOES_NOT_EXIST
    would be as good; a 200 is not."""
    reply = api.call("GET", "registered-models/alias", params={"name": name, "alias": alias})
    assert reply.status in (400, 404), f"alias {alias!r} should be gone: {reply.describe()}"
    code = reply.json().get("error_code") if reply.content_type == "application/json" else None
    assert code == (IPV if reply.status == 400 else RDNE), reply.describe()


def tags_of(entity: JsonObj) -> dict[str, str]:
    return {t["key"]: t.get("value", "") for t in entity.get("tags", [])}


def aliases_of_model(model: JsonObj) -> dict[str, str]:
    return {a["alias"]: a["version"] for a in model.get("aliases", [])}


def search(api: Api, rpc: str, items: str, **params: Any) -> list[JsonObj]:
    found: list[JsonObj] = api.ok("GET", rpc, params=params).get(items, [])
    return found


def all_pages(api: Api, rpc: str, items: str, ident: Any, **params: Any) -> list[Any]:
    """Walk max_results-sized pages by next_page_token; every item of every page, in order."""
    seen: list[Any] = []
    token: str | None = None
    for _ in range(50):
        page = api.ok("GET", rpc, params={**params, **({"page_token": token} if token else {})})
        got = page.get(items, [])
        assert len(got) <= params["max_results"], f"page of {len(got)} > max_results {params['max_results']}"
        seen += [ident(x) for x in got]
        token = page.get("next_page_token")
        if not token:
            return seen
    raise AssertionError("paging never ended")


@pytest.fixture
def source(api: Api, run_id: str) -> tuple[str, str]:
    """A run and a model location under its artifact URI, which MLflow requires of a version's source."""
    return run_id, api.get_run(run_id)["info"]["artifact_uri"].rstrip("/") + "/model"


@pytest.fixture
def model(api: Api) -> str:
    return create_model(api)


# -- registered models ----------------------------------------------------------------------------------


def test_create_registered_model_returns_name_tags_and_description(api: Api) -> None:
    name = unique("model")
    body = {"name": name, "description": "d1", "tags": [{"key": "team", "value": "a"}]}
    created = api.ok("POST", "registered-models/create", body)["registered_model"]
    assert (created["name"], created.get("description"), tags_of(created)) == (name, "d1", {"team": "a"})
    assert isinstance(created.get("creation_timestamp"), int) and created["creation_timestamp"] > 0, created


def test_create_registered_model_requires_name(api: Api) -> None:
    api.error("POST", "registered-models/create", {}, status=400, code=IPV)


def test_create_registered_model_with_taken_name_is_resource_already_exists_400(api: Api, model: str) -> None:
    api.error("POST", "registered-models/create", {"name": model}, status=400, code="RESOURCE_ALREADY_EXISTS")


def test_get_registered_model_returns_it(api: Api) -> None:
    name = create_model(api, description="about", tags=[{"key": "k", "value": "v"}])
    got = get_model(api, name)
    assert (got["name"], got.get("description"), tags_of(got)) == (name, "about", {"k": "v"})


def test_get_unknown_registered_model_is_404(api: Api) -> None:
    api.error("GET", "registered-models/get", params={"name": unique("missing")}, status=404, code=RDNE)


def test_rename_registered_model_moves_it_with_its_versions(api: Api, model: str, source: tuple[str, str]) -> None:
    create_version(api, model, source)
    new_name = unique("renamed")
    renamed = api.ok("POST", "registered-models/rename", {"name": model, "new_name": new_name})["registered_model"]
    assert renamed["name"] == new_name
    assert get_model(api, new_name)["name"] == new_name
    assert get_version(api, new_name, "1")["name"] == new_name
    api.error("GET", "registered-models/get", params={"name": model}, status=404, code=RDNE)


def test_rename_registered_model_to_taken_name_is_resource_already_exists_400(api: Api, model: str) -> None:
    other = create_model(api)
    body = {"name": model, "new_name": other}
    api.error("POST", "registered-models/rename", body, status=400, code="RESOURCE_ALREADY_EXISTS")


def test_update_registered_model_changes_description(api: Api, model: str) -> None:
    updated = api.ok("PATCH", "registered-models/update", {"name": model, "description": "new words"})
    assert updated["registered_model"].get("description") == "new words", updated
    assert get_model(api, model).get("description") == "new words"


def test_update_unknown_registered_model_is_404(api: Api) -> None:
    body = {"name": unique("missing"), "description": "x"}
    api.error("PATCH", "registered-models/update", body, status=404, code=RDNE)


def test_delete_registered_model_deletes_it_and_its_versions(api: Api, model: str, source: tuple[str, str]) -> None:
    create_version(api, model, source)
    api.ok("DELETE", "registered-models/delete", {"name": model})
    api.error("GET", "registered-models/get", params={"name": model}, status=404, code=RDNE)
    api.error("GET", "model-versions/get", params={"name": model, "version": "1"}, status=404, code=RDNE)
    assert not search(api, "registered-models/search", "registered_models", filter=f"name = '{model}'")
    assert not search(api, "model-versions/search", "model_versions", filter=f"name = '{model}'")


def test_delete_unknown_registered_model_is_404(api: Api) -> None:
    api.error("DELETE", "registered-models/delete", {"name": unique("missing")}, status=404, code=RDNE)


# -- model versions -------------------------------------------------------------------------------------


def test_model_versions_are_numbered_per_model_from_1(api: Api, source: tuple[str, str]) -> None:
    a, b = create_model(api), create_model(api)
    numbers = [(m, create_version(api, m, source)["version"]) for m in (a, b, a, b, a)]
    assert numbers == [(a, "1"), (b, "1"), (a, "2"), (b, "2"), (a, "3")], numbers
    assert [get_version(api, a, v)["version"] for v in ("1", "2", "3")] == ["1", "2", "3"]


def test_create_model_version_returns_source_run_id_and_stage_none(
    api: Api, model: str, source: tuple[str, str]
) -> None:
    run_id, uri = source
    mv = create_version(api, model, source, description="first", tags=[{"key": "k", "value": "v"}])
    assert (mv["name"], mv["version"], mv.get("source"), mv.get("run_id")) == (model, "1", uri, run_id)
    assert mv.get("current_stage") == "None", mv
    assert mv.get("status") in ("READY", "PENDING_REGISTRATION"), mv
    got = get_version(api, model, "1")
    assert (got.get("description"), tags_of(got), got.get("source")) == ("first", {"k": "v"}, uri)


def test_create_model_version_of_unknown_model_is_404(api: Api, source: tuple[str, str]) -> None:
    run_id, uri = source
    body = {"name": unique("missing"), "source": uri, "run_id": run_id}
    api.error("POST", "model-versions/create", body, status=404, code=RDNE)


def test_create_model_version_requires_source(api: Api, model: str) -> None:
    api.error("POST", "model-versions/create", {"name": model}, status=400, code=IPV)


def test_get_unknown_model_version_is_404(api: Api, model: str, source: tuple[str, str]) -> None:
    create_version(api, model, source)
    api.error("GET", "model-versions/get", params={"name": model, "version": "2"}, status=404, code=RDNE)


def test_update_model_version_changes_description(api: Api, model: str, source: tuple[str, str]) -> None:
    create_version(api, model, source)
    updated = api.ok("PATCH", "model-versions/update", {"name": model, "version": "1", "description": "better"})
    assert updated["model_version"].get("description") == "better", updated
    assert get_version(api, model, "1").get("description") == "better"


def test_delete_model_version_removes_only_that_version(api: Api, model: str, source: tuple[str, str]) -> None:
    for _ in range(2):
        create_version(api, model, source)
    api.ok("DELETE", "model-versions/delete", {"name": model, "version": "1"})
    api.error("GET", "model-versions/get", params={"name": model, "version": "1"}, status=404, code=RDNE)
    assert get_version(api, model, "2")["version"] == "2"
    found = search(api, "model-versions/search", "model_versions", filter=f"name = '{model}'")
    assert [v["version"] for v in found] == ["2"], found


def test_get_model_version_download_uri_points_at_its_source(api: Api, model: str, source: tuple[str, str]) -> None:
    create_version(api, model, source)
    data = api.ok("GET", "model-versions/get-download-uri", params={"name": model, "version": "1"})
    assert data.get("artifact_uri") == source[1], data


def test_get_download_uri_of_unknown_version_is_404(api: Api, model: str) -> None:
    params = {"name": model, "version": "7"}
    api.error("GET", "model-versions/get-download-uri", params=params, status=404, code=RDNE)


# -- stages ---------------------------------------------------------------------------------------------


def transition(api: Api, name: str, version: str, stage: str, archive: bool) -> JsonObj:
    body = {"name": name, "version": version, "stage": stage, "archive_existing_versions": archive}
    mv: JsonObj = api.ok("POST", "model-versions/transition-stage", body)["model_version"]
    return mv


def stages(api: Api, name: str, count: int) -> list[str]:
    return [get_version(api, name, str(v)).get("current_stage", "") for v in range(1, count + 1)]


def test_transition_stage_moves_the_version(api: Api, model: str, source: tuple[str, str]) -> None:
    create_version(api, model, source)
    assert transition(api, model, "1", "Staging", False).get("current_stage") == "Staging"
    assert stages(api, model, 1) == ["Staging"]


def test_transition_stage_with_archive_existing_versions_archives_the_others(
    api: Api, model: str, source: tuple[str, str]
) -> None:
    for _ in range(3):
        create_version(api, model, source)
    transition(api, model, "1", "Production", False)
    transition(api, model, "2", "Staging", False)
    transition(api, model, "3", "Production", True)
    assert stages(api, model, 3) == ["Archived", "Staging", "Production"]


def test_transition_stage_without_archive_existing_versions_keeps_the_others(
    api: Api, model: str, source: tuple[str, str]
) -> None:
    for _ in range(2):
        create_version(api, model, source)
    transition(api, model, "1", "Production", False)
    transition(api, model, "2", "Production", False)
    assert stages(api, model, 2) == ["Production", "Production"]


def test_transition_stage_rejects_unknown_stage(api: Api, model: str, source: tuple[str, str]) -> None:
    create_version(api, model, source)
    body = {"name": model, "version": "1", "stage": "Bogus", "archive_existing_versions": False}
    api.error("POST", "model-versions/transition-stage", body, status=400, code=IPV)


def test_get_latest_versions_returns_newest_per_stage(api: Api, model: str, source: tuple[str, str]) -> None:
    for _ in range(4):
        create_version(api, model, source)
    transition(api, model, "1", "Production", False)
    transition(api, model, "2", "Production", False)
    transition(api, model, "3", "Staging", False)
    everything = api.ok("POST", "registered-models/get-latest-versions", {"name": model})["model_versions"]
    latest = {v["current_stage"]: v["version"] for v in everything}
    assert latest == {"Production": "2", "Staging": "3", "None": "4"}, everything
    prod = api.ok("GET", "registered-models/get-latest-versions", params={"name": model, "stages": ["Production"]})
    assert [(v["version"], v["current_stage"]) for v in prod["model_versions"]] == [("2", "Production")], prod


def test_get_latest_versions_of_unknown_model_is_404(api: Api) -> None:
    body = {"name": unique("missing")}
    api.error("POST", "registered-models/get-latest-versions", body, status=404, code=RDNE)


# -- aliases --------------------------------------------------------------------------------------------


def set_alias(api: Api, name: str, alias: str, version: str) -> None:
    api.ok("POST", "registered-models/alias", {"name": name, "alias": alias, "version": version})


def test_set_alias_then_get_model_version_by_alias(api: Api, model: str, source: tuple[str, str]) -> None:
    for _ in range(2):
        create_version(api, model, source)
    set_alias(api, model, "champion", "2")
    mv = by_alias(api, model, "champion")
    assert (mv["name"], mv["version"], mv.get("source")) == (model, "2", source[1]), mv
    assert "champion" in mv.get("aliases", []), mv


def test_set_alias_again_moves_it_to_the_other_version(api: Api, model: str, source: tuple[str, str]) -> None:
    for _ in range(2):
        create_version(api, model, source)
    set_alias(api, model, "champion", "1")
    set_alias(api, model, "champion", "2")
    assert by_alias(api, model, "champion")["version"] == "2"
    assert "champion" not in get_version(api, model, "1").get("aliases", [])
    assert aliases_of_model(get_model(api, model)) == {"champion": "2"}


def test_aliases_are_listed_on_the_model_and_the_version(api: Api, model: str, source: tuple[str, str]) -> None:
    for _ in range(2):
        create_version(api, model, source)
    set_alias(api, model, "champion", "1")
    set_alias(api, model, "challenger", "2")
    assert aliases_of_model(get_model(api, model)) == {"champion": "1", "challenger": "2"}
    assert get_version(api, model, "1").get("aliases") == ["champion"]
    assert get_version(api, model, "2").get("aliases") == ["challenger"]


def test_delete_alias_removes_it(api: Api, model: str, source: tuple[str, str]) -> None:
    create_version(api, model, source)
    set_alias(api, model, "champion", "1")
    api.ok("DELETE", "registered-models/alias", {"name": model, "alias": "champion"})
    alias_is_gone(api, model, "champion")
    assert not get_model(api, model).get("aliases")
    assert not get_version(api, model, "1").get("aliases")


def test_alias_disappears_with_its_version(api: Api, model: str, source: tuple[str, str]) -> None:
    for _ in range(2):
        create_version(api, model, source)
    set_alias(api, model, "champion", "1")
    set_alias(api, model, "challenger", "2")
    api.ok("DELETE", "model-versions/delete", {"name": model, "version": "1"})
    alias_is_gone(api, model, "champion")
    assert aliases_of_model(get_model(api, model)) == {"challenger": "2"}


def test_get_model_version_by_unknown_alias_is_rejected(api: Api, model: str, source: tuple[str, str]) -> None:
    create_version(api, model, source)
    alias_is_gone(api, model, "nobody")


def test_set_alias_on_unknown_version_is_404(api: Api, model: str, source: tuple[str, str]) -> None:
    create_version(api, model, source)
    body = {"name": model, "alias": "champion", "version": "9"}
    api.error("POST", "registered-models/alias", body, status=404, code=RDNE)


# -- tags -----------------------------------------------------------------------------------------------


def test_registered_model_tags_are_set_replaced_and_deleted(api: Api, model: str) -> None:
    for key, value in (("team", "a"), ("team", "b"), ("task", "fraud")):
        api.ok("POST", "registered-models/set-tag", {"name": model, "key": key, "value": value})
    assert tags_of(get_model(api, model)) == {"team": "b", "task": "fraud"}
    api.ok("DELETE", "registered-models/delete-tag", {"name": model, "key": "team"})
    assert tags_of(get_model(api, model)) == {"task": "fraud"}


def test_model_version_tags_are_set_replaced_and_deleted(api: Api, model: str, source: tuple[str, str]) -> None:
    create_version(api, model, source)
    for key, value in (("approved", "no"), ("approved", "yes"), ("owner", "me")):
        api.ok("POST", "model-versions/set-tag", {"name": model, "version": "1", "key": key, "value": value})
    assert tags_of(get_version(api, model, "1")) == {"approved": "yes", "owner": "me"}
    api.ok("DELETE", "model-versions/delete-tag", {"name": model, "version": "1", "key": "approved"})
    assert tags_of(get_version(api, model, "1")) == {"owner": "me"}


def test_set_tag_on_unknown_registered_model_is_404(api: Api) -> None:
    body = {"name": unique("missing"), "key": "k", "value": "v"}
    api.error("POST", "registered-models/set-tag", body, status=404, code=RDNE)


# -- search ---------------------------------------------------------------------------------------------


def _names(models: list[JsonObj]) -> list[str]:
    return sorted(m["name"] for m in models)


def test_search_registered_models_filters_by_exact_name(api: Api) -> None:
    prefix = unique("search")
    names = [create_model(api, f"{prefix}-{i}") for i in range(2)]
    found = search(api, "registered-models/search", "registered_models", filter=f"name = '{names[0]}'")
    assert _names(found) == [names[0]], found


def test_search_registered_models_filters_by_like(api: Api) -> None:
    prefix = unique("search")
    names = [create_model(api, f"{prefix}-{i}") for i in range(3)]
    create_model(api, f"other-{prefix}")
    found = search(api, "registered-models/search", "registered_models", filter=f"name LIKE '{prefix}-%'")
    assert _names(found) == sorted(names), found
    assert not search(api, "registered-models/search", "registered_models", filter=f"name LIKE '{prefix.upper()}-%'")


def test_search_registered_models_filters_by_ilike_ignoring_case(api: Api) -> None:
    prefix = unique("search")
    names = [create_model(api, f"{prefix}-{i}") for i in range(2)]
    found = search(api, "registered-models/search", "registered_models", filter=f"name ILIKE '{prefix.upper()}-%'")
    assert _names(found) == sorted(names), found


def test_search_registered_models_filters_by_tag(api: Api) -> None:
    prefix = unique("search")
    tagged = create_model(api, f"{prefix}-a", tags=[{"key": "task", "value": prefix}])
    create_model(api, f"{prefix}-b", tags=[{"key": "task", "value": "other"}])
    found = search(api, "registered-models/search", "registered_models", filter=f"tags.task = '{prefix}'")
    assert _names(found) == [tagged], found


def test_search_registered_models_respects_max_results(api: Api) -> None:
    prefix = unique("search")
    for i in range(3):
        create_model(api, f"{prefix}-{i}")
    data = api.ok("GET", "registered-models/search", params={"filter": f"name LIKE '{prefix}-%'", "max_results": 2})
    assert len(data.get("registered_models", [])) == 2, data
    assert data.get("next_page_token"), "a next_page_token is required when more models match"


def test_search_registered_models_pages_have_no_duplicates_or_gaps(api: Api) -> None:
    prefix = unique("paging")
    names = {create_model(api, f"{prefix}-{i}") for i in range(5)}
    seen = all_pages(
        api,
        "registered-models/search",
        "registered_models",
        lambda m: m["name"],
        filter=f"name LIKE '{prefix}-%'",
        max_results=2,
    )
    assert sorted(seen) == sorted(names), seen


def test_search_registered_models_rejects_malformed_filter(api: Api) -> None:
    api.error("GET", "registered-models/search", params={"filter": "name ="}, status=400, code=IPV)


def _version_ids(versions: list[JsonObj]) -> list[tuple[str, str]]:
    return sorted((v["name"], v["version"]) for v in versions)


def test_search_model_versions_filters_by_name(api: Api, source: tuple[str, str]) -> None:
    a, b = create_model(api), create_model(api)
    for m in (a, a, b):
        create_version(api, m, source)
    found = search(api, "model-versions/search", "model_versions", filter=f"name = '{a}'")
    assert _version_ids(found) == [(a, "1"), (a, "2")], found


def test_search_model_versions_filters_by_like_and_ilike(api: Api, source: tuple[str, str]) -> None:
    prefix = unique("search")
    a, b = create_model(api, f"{prefix}-a"), create_model(api, f"{prefix}-b")
    other = create_model(api, f"x{prefix}")
    for m in (a, b, other):
        create_version(api, m, source)
    like = search(api, "model-versions/search", "model_versions", filter=f"name LIKE '{prefix}-%'")
    assert _version_ids(like) == [(a, "1"), (b, "1")], like
    ilike = search(api, "model-versions/search", "model_versions", filter=f"name ILIKE '{prefix.upper()}-%'")
    assert _version_ids(ilike) == [(a, "1"), (b, "1")], ilike


def test_search_model_versions_filters_by_tag(api: Api, model: str, source: tuple[str, str]) -> None:
    create_version(api, model, source, tags=[{"key": "approved", "value": "yes"}])
    create_version(api, model, source, tags=[{"key": "approved", "value": "no"}])
    found = search(api, "model-versions/search", "model_versions", filter=f"name = '{model}' AND tags.approved = 'yes'")
    assert _version_ids(found) == [(model, "1")], found


def test_search_model_versions_filters_by_run_id(api: Api, model: str, source: tuple[str, str]) -> None:
    create_version(api, model, source)
    found = search(api, "model-versions/search", "model_versions", filter=f"run_id = '{source[0]}'")
    assert _version_ids(found) == [(model, "1")], found


def test_search_model_versions_pages_have_no_duplicates_or_gaps(api: Api, model: str, source: tuple[str, str]) -> None:
    for _ in range(5):
        create_version(api, model, source)
    seen = all_pages(
        api,
        "model-versions/search",
        "model_versions",
        lambda v: (v["name"], v["version"]),
        filter=f"name = '{model}'",
        max_results=2,
    )
    assert sorted(seen) == [(model, str(v)) for v in range(1, 6)], seen


def test_search_model_versions_rejects_unknown_attribute(api: Api) -> None:
    api.error("GET", "model-versions/search", params={"filter": "bogus = 'x'"}, status=400, code=IPV)
