"""Settings: explicit argument > environment > default, strict parsing, and secrets kept out of sight."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from mlflow_client._settings import ENV_VARS, Settings, env_var_table
from mlflow_client.exceptions import ConfigurationError, MlflowException

PASSWORD = "pw-4f9a2c-very-secret"
TOKEN = "tok-8e1d7b-very-secret"


def test_defaults_are_mlflows() -> None:
    s = Settings.from_env({})
    assert (s.max_retries, s.backoff_factor, s.backoff_jitter, s.timeout) == (7, 2.0, 1.0, 120.0)
    assert s.tracking_uri is None and s.auth_scheme is None and s.insecure_tls is False
    assert (s.max_retry_after, s.max_retry_time, s.allow_redirects) == (60.0, 600.0, True)


# MLflow's variables whose default we set differently on purpose, and why.
OUR_OWN_DEFAULTS = {
    # MLflow's is unset (no buffering); the issue asks for a short default of our own, so that a training
    # loop's single calls coalesce into batches.
    "MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS",
}


def test_env_var_defaults_match_mlflow_and_settings_fields() -> None:
    from mlflow import environment_variables as mlflow_env

    fields = {f.name: f.default for f in dataclasses.fields(Settings)}
    assert sorted(var.field for var in ENV_VARS) == sorted(fields)
    assert len({var.name for var in ENV_VARS}) == len(ENV_VARS)
    for var in ENV_VARS:
        assert fields[var.field] == var.default, var.name
        theirs = getattr(mlflow_env, var.name, None)
        if theirs is not None and var.name not in OUR_OWN_DEFAULTS:  # one of MLflow's variables: same default
            assert theirs.default == var.default, var.name


def test_environment_is_read_and_parsed() -> None:
    env = {
        "MLFLOW_TRACKING_URI": "http://tracking:5000",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3",
        "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0.5",
        "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
        "MLFLOW_TRACKING_INSECURE_TLS": "TRUE",
        "MLFLOW_EXPERIMENT_NAME": "exp",
        "MLFLOW_EXPERIMENT_ID": "12",
        "MLFLOW_RUN_ID": "abc",
        "MLFLOW_CLIENT_MAX_RETRY_AFTER": "5",
        "MLFLOW_CLIENT_MAX_RETRY_TIME": "90",
        "MLFLOW_ALLOW_HTTP_REDIRECTS": "0",
    }
    s = Settings.from_env(env)
    assert s.tracking_uri == "http://tracking:5000"
    assert (s.max_retries, s.backoff_factor, s.backoff_jitter, s.timeout) == (3, 0.5, 0.0, 30.0)
    assert s.insecure_tls is True and s.allow_redirects is False
    assert (s.experiment_name, s.experiment_id, s.run_id) == ("exp", "12", "abc")
    assert (s.max_retry_after, s.max_retry_time) == (5.0, 90.0)


def test_explicit_argument_beats_environment_beats_default() -> None:
    env = {"MLFLOW_TRACKING_URI": "http://from-env", "MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}
    s = Settings.from_env(env, tracking_uri="http://from-arg")
    assert s.tracking_uri == "http://from-arg"  # argument over environment
    assert s.timeout == 30.0  # environment over default
    assert s.max_retries == 7  # default


def test_none_argument_means_not_given() -> None:
    s = Settings.from_env({"MLFLOW_TRACKING_URI": "http://from-env"}, tracking_uri=None)
    assert s.tracking_uri == "http://from-env"


def test_empty_variable_counts_as_unset() -> None:
    s = Settings.from_env({"MLFLOW_TRACKING_URI": "", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": " "})
    assert s.tracking_uri is None and s.max_retries == 7


def test_os_environ_is_the_default_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    assert Settings.from_env().max_retries == 2


def test_unknown_argument_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="tracking_url"):
        Settings.from_env({}, tracking_url="http://x")


@pytest.mark.parametrize(("text", "expected"), [("true", True), ("1", True), ("False", False), ("0", False)])
def test_booleans_accept_true_false_1_0_in_any_case(text: str, expected: bool) -> None:
    assert Settings.from_env({"MLFLOW_TRACKING_INSECURE_TLS": text}).insecure_tls is expected


@pytest.mark.parametrize("text", ["yes", "on", "2", "ture", "t"])
def test_other_boolean_text_is_an_error_naming_the_variable(text: str) -> None:
    with pytest.raises(ConfigurationError, match="MLFLOW_TRACKING_INSECURE_TLS") as info:
        Settings.from_env({"MLFLOW_TRACKING_INSECURE_TLS": text})
    assert repr(text) in str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, MlflowException)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "three"),
        ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1.5"),
        ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "-1"),
        ("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "fast"),
        ("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "-2"),
        ("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "nan"),
        ("MLFLOW_HTTP_REQUEST_TIMEOUT", "0"),
        ("MLFLOW_HTTP_REQUEST_TIMEOUT", "inf"),
        ("MLFLOW_HTTP_REQUEST_TIMEOUT", "10s"),
        ("MLFLOW_CLIENT_MAX_RETRY_AFTER", "-1"),
        ("MLFLOW_CLIENT_MAX_RETRY_TIME", "0"),
    ],
)
def test_bad_numbers_are_errors_naming_the_variable(name: str, text: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env({name: text})


def test_bad_argument_types_are_errors() -> None:
    with pytest.raises(ConfigurationError, match="max_retries"):
        Settings.from_env({}, max_retries=True)
    with pytest.raises(ConfigurationError, match="insecure_tls"):
        Settings.from_env({}, insecure_tls="true")
    with pytest.raises(ConfigurationError, match="tracking_uri"):
        Settings.from_env({}, tracking_uri=5000)


def test_basic_auth_needs_both_username_and_password() -> None:
    with pytest.raises(ConfigurationError, match=r"password \(MLFLOW_TRACKING_PASSWORD\) is missing"):
        Settings.from_env({"MLFLOW_TRACKING_USERNAME": "alice"})
    with pytest.raises(ConfigurationError, match=r"username \(MLFLOW_TRACKING_USERNAME\) is missing") as info:
        Settings.from_env({"MLFLOW_TRACKING_PASSWORD": PASSWORD})
    assert PASSWORD not in str(info.value)


def test_basic_auth_may_come_half_from_argument_half_from_environment() -> None:
    s = Settings.from_env({"MLFLOW_TRACKING_PASSWORD": PASSWORD}, username="alice")
    assert (s.username, s.password, s.auth_scheme) == ("alice", PASSWORD, "basic")


def test_basic_wins_over_token() -> None:
    env = {"MLFLOW_TRACKING_USERNAME": "alice", "MLFLOW_TRACKING_PASSWORD": PASSWORD, "MLFLOW_TRACKING_TOKEN": TOKEN}
    assert Settings.from_env(env).auth_scheme == "basic"
    assert Settings.from_env({"MLFLOW_TRACKING_TOKEN": TOKEN}).auth_scheme == "bearer"


def test_ca_bundle_and_insecure_tls_together_are_an_error() -> None:
    env = {"MLFLOW_TRACKING_INSECURE_TLS": "true", "MLFLOW_TRACKING_SERVER_CERT_PATH": "/etc/ca.pem"}
    with pytest.raises(ConfigurationError) as info:
        Settings.from_env(env)
    assert "MLFLOW_TRACKING_INSECURE_TLS" in str(info.value)
    assert "MLFLOW_TRACKING_SERVER_CERT_PATH" in str(info.value)


def test_repr_and_str_hide_password_and_token() -> None:
    s = Settings.from_env({}, username="alice", password=PASSWORD, token=TOKEN)
    for text in (repr(s), str(s), f"{s}", f"{s!r}"):
        assert PASSWORD not in text and TOKEN not in text
        assert "password='***'" in text and "token='***'" in text and "alice" in text
    assert "password=None" in repr(Settings())


def test_proxy_and_ca_bundle_variables_are_read_as_requests_reads_them() -> None:
    env = {
        "HTTP_PROXY": "http://upper:3128",
        "http_proxy": "http://lower:3128",
        "HTTPS_PROXY": "http://tls:3128",
        "https_proxy": "",  # empty: unset, so the uppercase one counts
        "all_proxy": "socks5://all:1080",
        "NO_PROXY": "localhost,.corp",
        "CURL_CA_BUNDLE": "/etc/curl.pem",
    }
    s = Settings.from_env(env)
    assert (s.http_proxy, s.https_proxy, s.all_proxy) == ("http://lower:3128", "http://tls:3128", "socks5://all:1080")
    assert s.no_proxy == "localhost,.corp" and s.ca_bundle == "/etc/curl.pem"
    assert Settings.from_env({**env, "REQUESTS_CA_BUNDLE": "/etc/req.pem"}).ca_bundle == "/etc/req.pem"
    cgi = Settings.from_env({"HTTP_PROXY": "http://from-a-header:1", "REQUEST_METHOD": "GET"})
    assert cgi.http_proxy is None  # httpoxy: in CGI, HTTP_PROXY is the request's "Proxy:" header
    assert Settings.from_env({"http_proxy": "http://set-by-hand:1", "REQUEST_METHOD": "GET"}).http_proxy is not None
    assert Settings.from_env({}, https_proxy="http://given:1").https_proxy == "http://given:1"


def test_repr_hides_proxy_urls_which_may_hold_credentials() -> None:
    s = Settings.from_env({"HTTPS_PROXY": f"http://carol:{PASSWORD}@proxy:3128", "NO_PROXY": "localhost"})
    assert PASSWORD not in repr(s) and "https_proxy='***'" in repr(s) and "no_proxy='localhost'" in repr(s)


def test_settings_are_immutable_and_changes_are_validated() -> None:
    s = Settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.timeout = 5  # type: ignore[misc]
    assert s.with_changes(timeout=5).timeout == 5
    with pytest.raises(ConfigurationError, match="MLFLOW_HTTP_REQUEST_TIMEOUT"):
        s.with_changes(timeout=-1)


def test_env_var_table_lists_every_variable_with_its_default() -> None:
    table = env_var_table()
    for var in ENV_VARS:
        assert f"| `{var.name}` |" in table
    assert "| `MLFLOW_HTTP_REQUEST_MAX_RETRIES` | `7` |" in table
    assert "| `MLFLOW_TRACKING_INSECURE_TLS` | `false` |" in table
    assert "| `MLFLOW_HTTP_REQUEST_BACKOFF_JITTER` | `1.0` |" in table


def test_only_the_settings_module_reads_the_environment() -> None:
    """DESIGN: configuration is resolved in one module. The one other reader is ``_databricks`` (the
    ``DATABRICKS_*`` variables and config file, resolved once per client). Reading through a library
    (urllib's or requests' proxy scans, httpx's ``trust_env``) counts too."""
    import ast

    import mlflow_client

    package = Path(mlflow_client.__file__).parent
    readers = {"getenv", "environ", "getproxies", "getproxies_environment", "get_environ_proxies", "environb"}
    found: list[str] = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package).as_posix()
        if rel in ("_settings.py", "_databricks.py") or rel.startswith("_generated/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(), rel)):
            if isinstance(node, ast.Attribute) and node.attr in readers:
                found.append(f"{rel}:{node.lineno} {node.attr}")
            elif isinstance(node, ast.Name) and node.id in readers and not isinstance(node.ctx, ast.Store):
                found.append(f"{rel}:{node.lineno} {node.id}")
            if (
                isinstance(node, ast.keyword)
                and node.arg == "trust_env"
                and not (isinstance(node.value, ast.Constant) and node.value.value is False)
            ):
                found.append(f"{rel}:{node.value.lineno} trust_env")
    assert found == []
