"""Databricks tracking URIs against the stub with bearer auth: profiles of a config file, the environment,
and the errors for what is missing or unsupported. The user's own ~/.databrickscfg is never read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import mlflow_client
import pytest
from mlflow_client import MlflowClient, fluent
from mlflow_client._databricks import resolve_databricks
from mlflow_client._settings import Settings
from mlflow_client.exceptions import ConfigurationError, FeatureNotImplemented, MlflowException, Unauthenticated

from server_stub import StubServer

TOKEN = "dapi-secret-0123456789"
PASSWORD = "pw-secret-9876"

_VARS = (
    "DATABRICKS_HOST",
    "DATABRICKS_TOKEN",
    "DATABRICKS_USERNAME",
    "DATABRICKS_PASSWORD",
    "DATABRICKS_INSECURE",
    "DATABRICKS_CLIENT_ID",
    "DATABRICKS_CLIENT_SECRET",
    "DATABRICKS_CONFIG_FILE",
    "DATABRICKS_CONFIG_PROFILE",
    "MLFLOW_TRACKING_URI",
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_INSECURE_TLS",
    "MLFLOW_TRACKING_SERVER_CERT_PATH",
    "MLFLOW_CLIENT_OFFLINE",
    "MLFLOW_ENABLE_ASYNC_LOGGING",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No Databricks or tracking variable of the developer's shell, and a config file path that does not
    exist yet (so ~/.databrickscfg is never the one read)."""
    for var in _VARS:
        monkeypatch.delenv(var, raising=False)
    cfg = tmp_path / "databrickscfg"
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(cfg))
    return cfg


@pytest.fixture(scope="module")
def server() -> Iterator[StubServer]:
    with StubServer(bearer_token=TOKEN) as stub:
        yield stub


def write_cfg(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _log_a_metric(client: MlflowClient, name: str) -> None:
    exp_id = client.create_experiment(name)
    run_id = client.create_run(exp_id).info.run_id
    client.log_metric(run_id, "loss", 0.25, step=1)
    client.set_terminated(run_id)
    run = client.get_run(run_id)
    assert run.data.metrics == {"loss": 0.25} and run.info.status == "FINISHED"


# -- working URIs ---------------------------------------------------------------------------------


def test_profile_uri_logs_to_the_profiles_host(server: StubServer, clean_env: Path) -> None:
    write_cfg(
        clean_env,
        f"[DEFAULT]\nhost = http://127.0.0.1:1\ntoken = x\n\n[myprof]\nhost = {server.url}/\ntoken = {TOKEN}\n",
    )
    with MlflowClient("databricks://myprof") as client:
        assert client.tracking_uri == "databricks://myprof"
        _log_a_metric(client, "dbx-profile")
        assert TOKEN not in repr(client)


def test_bare_uri_uses_databricks_host_and_token(
    server: StubServer, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_cfg(clean_env, "[DEFAULT]\nhost = http://127.0.0.1:1\ntoken = wrong\n")  # the environment wins
    monkeypatch.setenv("DATABRICKS_HOST", server.url)
    monkeypatch.setenv("DATABRICKS_TOKEN", TOKEN)
    with MlflowClient("databricks") as client:
        _log_a_metric(client, "dbx-env")


def test_bare_uri_falls_back_to_the_default_profile(server: StubServer, clean_env: Path) -> None:
    write_cfg(clean_env, f"[DEFAULT]\nhost = {server.url}\ntoken = {TOKEN}\n")
    with MlflowClient("databricks") as client:
        _log_a_metric(client, "dbx-default-profile")


def test_bare_uri_honours_databricks_config_profile(
    server: StubServer, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_cfg(
        clean_env, f"[DEFAULT]\nhost = http://127.0.0.1:1\ntoken = x\n[other]\nhost = {server.url}\ntoken = {TOKEN}\n"
    )
    monkeypatch.setenv("DATABRICKS_CONFIG_PROFILE", "other")
    with MlflowClient("databricks") as client:
        _log_a_metric(client, "dbx-config-profile")


def test_profile_uri_ignores_the_environment(
    server: StubServer, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As MLflow: databricks://PROFILE reads that profile only.
    write_cfg(clean_env, f"[myprof]\nhost = {server.url}\ntoken = {TOKEN}\n")
    monkeypatch.setenv("DATABRICKS_HOST", "http://127.0.0.1:1")
    monkeypatch.setenv("DATABRICKS_TOKEN", "wrong")
    with MlflowClient("databricks://myprof") as client:
        _log_a_metric(client, "dbx-profile-not-env")


def test_profile_credentials_replace_mlflow_tracking_ones(
    server: StubServer, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_cfg(clean_env, f"[myprof]\nhost = {server.url}\ntoken = {TOKEN}\n")
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")  # Basic would win over the token if kept
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "nope")
    with MlflowClient("databricks://myprof") as client:
        _log_a_metric(client, "dbx-replaces")


def test_asynchronous_logging_goes_to_the_workspace(server: StubServer, clean_env: Path) -> None:
    # The background sender is built from the resolved URL and token, not from the databricks:// URI.
    write_cfg(clean_env, f"[myprof]\nhost = {server.url}\ntoken = {TOKEN}\n")
    with MlflowClient("databricks://myprof") as client:
        run_id = client.create_run(client.create_experiment("dbx-async")).info.run_id
        client.log_metric(run_id, "loss", 0.5, step=0, synchronous=False)
        client.set_terminated(run_id)  # waits for the spooled metric
        assert client.get_run(run_id).data.metrics == {"loss": 0.5}


def test_wrong_token_surfaces_as_unauthenticated(server: StubServer, clean_env: Path) -> None:
    write_cfg(clean_env, f"[myprof]\nhost = {server.url}\ntoken = dapi-wrong-token\n")
    with MlflowClient("databricks://myprof") as client, pytest.raises(Unauthenticated) as info:
        client.create_experiment("dbx-wrong-token")
    assert info.value.http_status == 401
    assert "dapi-wrong-token" not in str(info.value) and "dapi-wrong-token" not in repr(info.value)


def test_fluent_api_with_a_profile_uri(server: StubServer, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_cfg(clean_env, f"[myprof]\nhost = {server.url}\ntoken = {TOKEN}\n")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "databricks://myprof")
    monkeypatch.setattr(fluent, "_clients", {})
    monkeypatch.setattr(fluent, "_active_experiment_id", None)
    assert mlflow_client.get_tracking_uri() == "databricks://myprof"
    mlflow_client.set_experiment("dbx-fluent")
    with mlflow_client.start_run() as run:
        mlflow_client.log_metric("acc", 0.9)
    with MlflowClient(server.url, token=TOKEN) as direct:
        got = direct.get_run(run.info.run_id)
    assert got.data.metrics == {"acc": 0.9} and got.info.status == "FINISHED"
    for client in fluent._clients.values():
        client.close()


# -- what resolution makes of a profile -----------------------------------------------------------


def test_host_gets_https_and_loses_its_trailing_slash(clean_env: Path) -> None:
    write_cfg(clean_env, f"[p]\nhost = adb-123.azuredatabricks.net/\ntoken = {TOKEN}\n")
    url, settings = resolve_databricks("databricks://p", Settings())
    assert url == "https://adb-123.azuredatabricks.net"
    assert settings.token == TOKEN and settings.auth_scheme == "bearer" and not settings.insecure_tls


def test_insecure_true_turns_off_tls_verification(clean_env: Path) -> None:
    write_cfg(clean_env, f"[p]\nhost = https://h.example\ntoken = {TOKEN}\ninsecure = True\n")
    assert resolve_databricks("databricks://p", Settings())[1].insecure_tls is True
    write_cfg(clean_env, f"[p]\nhost = https://h.example\ntoken = {TOKEN}\ninsecure = maybe\n")
    with pytest.raises(ConfigurationError, match=r"insecure in Databricks profile 'p' of .*must be one of true"):
        resolve_databricks("databricks://p", Settings())


def test_username_and_password_make_basic_auth(clean_env: Path) -> None:
    write_cfg(clean_env, f"[p]\nhost = https://h.example\nusername = bob\npassword = {PASSWORD}\ntoken = {TOKEN}\n")
    settings = resolve_databricks("databricks://p", Settings())[1]
    assert (settings.auth_scheme, settings.username, settings.token) == ("basic", "bob", None)
    assert PASSWORD not in repr(settings)


def test_profiles_do_not_inherit_from_default(clean_env: Path) -> None:
    write_cfg(clean_env, f"[DEFAULT]\ntoken = {TOKEN}\n[p]\nhost = https://h.example\n")
    with pytest.raises(ConfigurationError, match="token"):
        resolve_databricks("databricks://p", Settings())


def test_a_token_with_percent_signs_is_read_verbatim(clean_env: Path) -> None:
    write_cfg(clean_env, "[p]\nhost = https://h.example\ntoken = a%b%%c\n")
    assert resolve_databricks("databricks://p", Settings())[1].token == "a%b%%c"


def test_environ_argument_replaces_os_environ(tmp_path: Path) -> None:
    cfg = write_cfg(tmp_path / "elsewhere.cfg", f"[p]\nhost = h.example\ntoken = {TOKEN}\n")
    url, _ = resolve_databricks("databricks://p", Settings(), environ={"DATABRICKS_CONFIG_FILE": str(cfg)})
    assert url == "https://h.example"


# -- errors ---------------------------------------------------------------------------------------


def _message(uri: str) -> str:
    with pytest.raises(MlflowException) as info:
        MlflowClient(uri)
    text = f"{info.value} {info.value!r}"
    assert TOKEN not in text and PASSWORD not in text
    return str(info.value)


def test_missing_file_names_profile_and_file(clean_env: Path) -> None:
    message = _message("databricks://myprof")
    assert "'myprof'" in message and str(clean_env) in message and "does not exist" in message


def test_missing_profile_names_profile_and_file(clean_env: Path) -> None:
    write_cfg(clean_env, f"[other]\nhost = https://h.example\ntoken = {TOKEN}\n")
    with pytest.raises(ConfigurationError) as info:
        MlflowClient("databricks://myprof")
    message = str(info.value)
    assert "'myprof'" in message and str(clean_env) in message and "'other'" in message
    assert TOKEN not in message


def test_bare_uri_without_any_credentials_says_what_to_set(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABRICKS_HOST", "https://h.example")
    message = _message("databricks")
    assert "'DEFAULT'" in message and str(clean_env) in message and "DATABRICKS_TOKEN" in message


def test_missing_token_names_profile_file_and_key(clean_env: Path) -> None:
    write_cfg(clean_env, "[myprof]\nhost = https://h.example\nusername = bob\n")
    message = _message("databricks://myprof")
    assert "'myprof'" in message and str(clean_env) in message and "no token" in message


def test_missing_host_names_profile_file_and_key(clean_env: Path) -> None:
    write_cfg(clean_env, f"[myprof]\ntoken = {TOKEN}\n")
    message = _message("databricks://myprof")
    assert "'myprof'" in message and str(clean_env) in message and "no host" in message


def test_a_host_with_credentials_is_refused_without_echoing_it(clean_env: Path) -> None:
    write_cfg(clean_env, f"[p]\nhost = https://bob:{PASSWORD}@h.example\ntoken = {TOKEN}\n")
    assert "workspace URL" in _message("databricks://p")


def test_a_broken_config_file_is_reported_without_its_lines(clean_env: Path) -> None:
    write_cfg(clean_env, f"[p]\nhost = https://h.example\n{TOKEN}\n")  # a token pasted without `token =`
    message = _message("databricks://p")
    assert str(clean_env) in message and "line 3" in message


def test_oauth_m2m_is_refused_with_a_pointer_to_tokens(clean_env: Path) -> None:
    write_cfg(clean_env, f"[p]\nhost = https://h.example\nclient_id = abc\nclient_secret = {PASSWORD}\n")
    with pytest.raises(FeatureNotImplemented, match=r"OAuth M2M .* not supported.*personal access token"):
        MlflowClient("databricks://p")


def test_oauth_m2m_from_the_environment_is_refused_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABRICKS_HOST", "https://h.example")
    monkeypatch.setenv("DATABRICKS_CLIENT_ID", "abc")
    monkeypatch.setenv("DATABRICKS_CLIENT_SECRET", PASSWORD)
    with pytest.raises(FeatureNotImplemented, match=r"environment.*OAuth M2M"):
        MlflowClient("databricks")


def test_secret_scope_uris_are_unsupported() -> None:
    with pytest.raises(FeatureNotImplemented, match="secret scope"):
        MlflowClient("databricks://scope:prefix")


@pytest.mark.parametrize("uri", ["databricks://", "databricks:myprof", "databricks://myprof/extra"])
def test_malformed_databricks_uris_fail_clearly(uri: str) -> None:
    with pytest.raises(ConfigurationError, match="databricks://<profile>"):
        MlflowClient(uri)


def test_registry_schemes_are_not_tracking_uris() -> None:
    with pytest.raises(MlflowException, match="databricks-uc"):
        MlflowClient("databricks-uc")


def test_offline_mode_needs_no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_CLIENT_OFFLINE", "true")
    with MlflowClient("databricks://nowhere") as client:  # no config file at all: nothing is looked up
        exp_id = client.create_experiment("dbx-offline")
        assert client.get_experiment(exp_id).name == "dbx-offline"


def test_readme_documents_every_databricks_variable() -> None:
    from pathlib import Path

    from mlflow_client._databricks import ENV_VARS

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for name, meaning in ENV_VARS.items():
        assert f"| `{name}` | {meaning} |" in readme, name
