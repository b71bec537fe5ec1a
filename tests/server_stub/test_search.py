"""Tests of mlflow_client._search: the filter grammar, order_by, keyset paging, and parity with MLflow's own."""

from __future__ import annotations

import base64
import contextlib
import importlib
import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from mlflow_client._generated import models as m
from mlflow_client._search import SearchError, search_experiments, search_runs

NAN = float("nan")


@dataclass
class RunSpec:
    """One run, described once and built both as our model and as an ``mlflow.entities.Run``."""

    run_id: str
    start_time: int
    end_time: int | None = None
    status: str = "FINISHED"
    run_name: str | None = None
    user_id: str = "alice"
    artifact_uri: str = "file:///tmp/a"
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    datasets: list[tuple[str, str, str | None]] = field(default_factory=list)  # name, digest, context

    def model(self) -> m.Run:
        inputs = [
            m.DatasetInput(
                dataset=m.Dataset(name=name, digest=digest, source_type="local", source="{}"),
                tags=[] if context is None else [m.InputTag(key="mlflow.data.context", value=context)],
            )
            for name, digest, context in self.datasets
        ]
        return m.Run(
            info=m.RunInfo(
                run_id=self.run_id,
                run_uuid=self.run_id,
                run_name=self.run_name,
                experiment_id="0",
                user_id=self.user_id,
                status=self.status,
                start_time=self.start_time,
                end_time=self.end_time,
                artifact_uri=self.artifact_uri,
                lifecycle_stage="active",
            ),
            data=m.RunData(
                metrics=[m.Metric(key=k, value=v, timestamp=1, step=0) for k, v in self.metrics.items()],
                params=[m.Param(key=k, value=v) for k, v in self.params.items()],
                tags=[m.RunTag(key=k, value=v) for k, v in self.tags.items()],
            ),
            inputs=m.RunInputs(dataset_inputs=inputs),
        )


RUNS = [
    RunSpec(
        "r1",
        100,
        end_time=150,
        run_name="alpha",
        metrics={"acc": 0.9, "loss": 0.1, "my metric": 3.0, "a.b": 1.0},
        params={"lr": "0.01", "opt": "adam"},
        tags={"team": "vision", "my tag": "x y", "mlflow.runName": "alpha"},
        datasets=[("train", "d1", "training"), ("eval", "d2", "evaluation")],
    ),
    RunSpec(
        "r2",
        200,
        end_time=250,
        status="FAILED",
        run_name="beta",
        user_id="bob",
        metrics={"acc": 0.5, "loss": 0.7},
        params={"lr": "0.1"},
        tags={"team": "Vision"},
        datasets=[("train", "d3", "training")],
    ),
    RunSpec(
        "r3",
        300,
        status="RUNNING",
        run_name="Alpha-2",
        metrics={"acc": NAN, "loss": -1.0},
        params={"opt": "sgd", "note": "50%_off"},
        tags={"team": "nlp"},
    ),
    RunSpec("r4", 200, run_name="gamma", artifact_uri="s3://b/r4", params={"lr": "0.1"}),
    RunSpec("r5", 50, end_time=60, run_name="delta", metrics={"acc": 0.5}, tags={"team": "vision_x"}),
]
MODELS = [spec.model() for spec in RUNS]


def run_ids(
    filter_string: str | None = None, order_by: Sequence[str] | None = None, runs: Sequence[m.Run] = MODELS
) -> list[str]:
    page, token = search_runs(runs, filter_string, order_by, 1000, None)
    assert token is None
    return [r.info.run_id or "" for r in page if r.info is not None]


def matching(filter_string: str) -> set[str]:
    return set(run_ids(filter_string))


# --- run filters -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("metrics.acc = 0.5", {"r2", "r5"}),
        ("metrics.acc != 0.5", {"r1", "r3"}),  # NaN != 0.5; r4 has no acc and never matches
        ("metrics.acc > 0.5", {"r1"}),
        ("metrics.acc >= 0.5", {"r1", "r2", "r5"}),
        ("metrics.acc < 0.9", {"r2", "r5"}),
        ("metrics.acc <= 0.9", {"r1", "r2", "r5"}),
        ("metrics.loss < 0", {"r3"}),
        ("metrics.loss > -1.5", {"r1", "r2", "r3"}),
        ("metrics.loss >= 1e-1", {"r1", "r2"}),
        ("metrics.loss < .5", {"r1", "r3"}),
        ("metric.acc > 0.6", {"r1"}),
        ("metrics.missing != 1", set()),
    ],
)
def test_metric_comparators(filter_string: str, expected: set[str]) -> None:
    assert matching(filter_string) == expected


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("params.lr = '0.1'", {"r2", "r4"}),
        ("params.lr != '0.1'", {"r1"}),  # runs without lr never match, != included
        ("params.opt LIKE 'a%'", {"r1"}),
        ("params.opt LIKE '_gd'", {"r3"}),
        ("params.opt LIKE 'ADAM'", set()),  # LIKE is case-sensitive
        ("params.opt ILIKE 'ADAM'", {"r1"}),
        ("params.note LIKE '50%'", {"r3"}),
        ("params.lr LIKE '0.1'", {"r2", "r4"}),  # '.' is literal, only % and _ are wildcards
        ("params.lr LIKE '0_1'", {"r2", "r4"}),
        ("params.lr IS NULL", {"r3", "r5"}),
        ("params.lr is not null", {"r1", "r2", "r4"}),
        ('params.opt = "sgd"', {"r3"}),
        ("param.opt = 'sgd'", {"r3"}),
        ("parameter.opt = 'sgd'", {"r3"}),
        ("parameters.opt = 'sgd'", {"r3"}),
        ("tags.team = 'vision'", {"r1"}),
        ("tags.team != 'vision'", {"r2", "r3", "r5"}),
        ("tags.team LIKE 'vision%'", {"r1", "r5"}),
        ("tags.team ILIKE 'VISION'", {"r1", "r2"}),
        ("tags.team ILIKE 'v%'", {"r1", "r2", "r5"}),
        ("tags.team IS NULL", {"r4"}),
        ("tag.team = 'nlp'", {"r3"}),
        ("tags.team = ''", set()),
    ],
)
def test_param_and_tag_comparators(filter_string: str, expected: set[str]) -> None:
    assert matching(filter_string) == expected


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("attributes.status = 'FINISHED'", {"r1", "r4", "r5"}),
        ("attribute.status != 'FINISHED'", {"r2", "r3"}),
        ("attr.user_id = 'bob'", {"r2"}),
        ("run.artifact_uri LIKE 's3://%'", {"r4"}),
        ("status ILIKE 'running'", {"r3"}),
        ("run_name = 'alpha'", {"r1"}),
        ("attributes.run_name ILIKE 'alpha%'", {"r1", "r3"}),
        ("`Run name` = 'beta'", {"r2"}),
        ("`run name` = 'beta'", {"r2"}),
        ("attributes.run_id = 'r3'", {"r3"}),
        ("attributes.run_id IN ('r1', 'r3', 'nope')", {"r1", "r3"}),
        ("run_id NOT IN ('r1', 'r3',)", {"r2", "r4", "r5"}),
        ("run_id in ('r2')", {"r2"}),
        ("attributes.start_time = 200", {"r2", "r4"}),
        ("attributes.start_time > 100", {"r2", "r3", "r4"}),
        ("start_time >= 100 AND start_time < 300", {"r1", "r2", "r4"}),
        ("created <= 100", {"r1", "r5"}),
        ("attributes.end_time != 150", {"r2", "r5"}),  # r3, r4 have no end_time
        ("attributes.end_time < 1e3", {"r1", "r2", "r5"}),
        ("start_time > 99.5", {"r1", "r2", "r3", "r4"}),
    ],
)
def test_attribute_comparators(filter_string: str, expected: set[str]) -> None:
    assert matching(filter_string) == expected


def test_run_name_falls_back_to_the_run_name_tag() -> None:
    run = RunSpec("r9", 1, tags={"mlflow.runName": "tagged"}).model()
    assert run_ids("attributes.run_name = 'tagged'", runs=[run]) == ["r9"]


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("datasets.name = 'train'", {"r1", "r2"}),
        ("datasets.name = 'eval'", {"r1"}),
        ("datasets.name != 'train'", {"r1"}),  # any one dataset that differs is enough
        ("datasets.digest IN ('d2', 'd3')", {"r1", "r2"}),
        ("datasets.digest NOT IN ('d1')", {"r1", "r2"}),
        ("datasets.context = 'training'", {"r1", "r2"}),
        ("datasets.context LIKE 'eval%'", {"r1"}),
        ("dataset.name ILIKE 'TRAIN'", {"r1", "r2"}),
        ("datasets.name = 'eval' AND datasets.digest = 'd1'", {"r1"}),
    ],
)
def test_dataset_filters(filter_string: str, expected: set[str]) -> None:
    assert matching(filter_string) == expected


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("metrics.`my metric` = 3", {"r1"}),
        ('metrics."my metric" = 3', {"r1"}),
        ("metrics.'my metric' = 3", {"r1"}),
        ("metrics.a.b = 1", {"r1"}),
        ("metrics.`a.b` = 1", {"r1"}),
        ("tags.`my tag` = 'x y'", {"r1"}),
        ('tags."my tag" = "x y"', {"r1"}),
        ("`tags`.`my tag` = 'x y'", {"r1"}),
        ("tags.mlflow.runName = 'alpha'", {"r1"}),
        ("params.`lr` = '0.01'", {"r1"}),
    ],
)
def test_quoted_and_dotted_keys(filter_string: str, expected: set[str]) -> None:
    assert matching(filter_string) == expected


def test_and_is_case_insensitive_and_conjunctive() -> None:
    assert matching("metrics.acc >= 0.5 AND params.lr = '0.1'") == {"r2"}
    assert matching("metrics.acc >= 0.5 and tags.team ilike 'vision%' And start_time < 100") == {"r5"}
    assert matching("tags.team='vision'AND metrics.acc>0.1") == {"r1"}


@pytest.mark.parametrize("filter_string", [None, "", "   "])
def test_empty_filter_matches_everything(filter_string: str | None) -> None:
    assert matching(filter_string or "") == {"r1", "r2", "r3", "r4", "r5"}
    assert len(run_ids(filter_string)) == 5


def test_like_wildcards_span_newlines_as_in_sql() -> None:
    run = RunSpec("nl", 1, params={"p": "first\nsecond"}).model()
    assert run_ids("params.p LIKE 'first%second'", runs=[run]) == ["nl"]
    assert run_ids("params.p LIKE 'first_second'", runs=[run]) == ["nl"]


def test_doubled_quotes_are_kept_verbatim_like_mlflow() -> None:
    run = RunSpec("q", 1, params={"a": "it''s", "b": "it's"}).model()
    assert run_ids("params.a = 'it''s'", runs=[run]) == ["q"]
    assert run_ids('params.b = "it\'s"', runs=[run]) == ["q"]


@pytest.mark.parametrize(
    ("filter_string", "message"),
    [
        ("metrics.acc > 0.5 OR metrics.loss < 1", "OR"),
        ("metrics.acc > 0.5 or metrics.loss < 1", "OR"),
        ("params.lr = 'unterminated", "Unterminated string"),
        ("tags.`bad key = 'x'", "Unterminated string"),
        ("attributes.color = 'red'", "Invalid attribute key 'color'"),
        ("attributes.lifecycle_stage = 'active'", "Invalid attribute key 'lifecycle_stage'"),
        ("attributes.experiment_id = '0'", "Invalid attribute key 'experiment_id'"),
        ("foo.bar = 'x'", "Invalid entity type 'foo'"),
        ("METRICS.acc > 1", "Invalid entity type 'METRICS'"),
        ("metrics.acc LIKE '0.5'", "Invalid comparator 'LIKE' for metric"),
        ("metrics.acc IN ('1')", "Invalid comparator 'IN' for metric"),
        ("metrics.acc IS NULL", "Invalid comparator 'IS NULL' for metric"),
        ("metrics.acc == 1", "Invalid comparator '=='"),
        ("metrics.acc <> 1", "Invalid comparator '<>'"),
        ("metrics.acc > '0.5'", "Expected a numeric value for metric"),
        ("metrics.acc > 1e", "Expected a numeric value for metric"),
        ("metrics.acc > 0x1A", "Expected a numeric value for metric"),
        ("metrics.acc = +1", "Unexpected character '+'"),
        ("params.lr > '0.1'", "Invalid comparator '>' for param"),
        ("params.lr = 0.1", "Expected a quoted string value"),
        ("params.lr = abc", "Expected a quoted string value"),
        ("params.lr = `abc`", "Expected a quoted string value"),
        ("params.lr IN ('a', 'b')", "Invalid comparator 'IN' for param"),
        ("tags.t NOT LIKE 'x'", "NOT is only allowed in NOT IN"),
        ("tags.t IS 'x'", "Expected NULL after IS"),
        ("attributes.status > 'A'", "Invalid comparator '>' for attribute"),
        ("attributes.status IN ('FINISHED')", "does not support IN / NOT IN"),
        ("attributes.run_id = ('a', 'b')", "Expected a value"),
        ("attributes.run_id IN ()", "Empty IN list"),
        ("attributes.run_id IN (1, 2)", "IN lists hold quoted strings only"),
        ("attributes.run_id IN ('a' 'b')", "Expected ',' or ')'"),
        ("attributes.run_id IN 'a'", "Expected '(' to open the IN list"),
        ("attributes.start_time > '5'", "Expected a numeric value for attribute"),
        ("attributes.start_time LIKE '5%'", "Invalid comparator 'LIKE' for attribute"),
        ("datasets.source = 'x'", "Invalid dataset key 'source'"),
        ("datasets.name > 'x'", "Invalid comparator '>' for dataset key"),
        ("metrics.acc > 1 AND", "Expected a key"),
        ("AND metrics.acc > 1", "Expected a comparator"),
        ("metrics.acc > 1 metrics.loss < 1", "Expected AND between clauses"),
        ("metrics.acc > 1 AND AND metrics.loss < 1", "Expected a comparator"),
        ("(metrics.acc > 1)", "Expected a key"),
        ("metrics.acc", "Expected a comparator"),
        ("metrics.acc >", "Expected a value"),
        ("1 = metrics.acc", "Expected a key"),
        ("metrics.my-metric > 1", "Unexpected character '-'"),
        ("tags.t = 'x'; tags.u = 'y'", "Unexpected character ';'"),
        ("metrics . acc > 1", "Unexpected character '.'"),
        ("tags.`a b`.c = 'x'", "quote the whole key"),
    ],
)
def test_invalid_run_filters_raise_search_error(filter_string: str, message: str) -> None:
    with pytest.raises(SearchError) as info:
        search_runs(MODELS, filter_string, None, 10, None)
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


# --- run ordering ----------------------------------------------------------------------------------


def test_default_order_is_start_time_desc_then_run_id() -> None:
    assert run_ids() == ["r3", "r2", "r4", "r1", "r5"]


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        # NaN after every number and a missing value after NaN, in both directions
        (["metrics.acc"], ["r2", "r5", "r1", "r3", "r4"]),
        (["metrics.acc ASC"], ["r2", "r5", "r1", "r3", "r4"]),
        (["metrics.acc DESC"], ["r1", "r2", "r5", "r3", "r4"]),
        (["metrics.acc desc", "attributes.run_id DESC"], ["r1", "r5", "r2", "r3", "r4"]),
        (["params.lr"], ["r1", "r2", "r4", "r3", "r5"]),
        (["params.lr DESC"], ["r2", "r4", "r1", "r3", "r5"]),
        (["params.lr DESC", "start_time ASC"], ["r2", "r4", "r1", "r5", "r3"]),
        (["tags.team"], ["r2", "r3", "r1", "r5", "r4"]),
        (["tags.team DESC"], ["r5", "r1", "r3", "r2", "r4"]),
        (["attributes.start_time"], ["r5", "r1", "r2", "r4", "r3"]),
        (["created DESC"], ["r3", "r2", "r4", "r1", "r5"]),
        (["attributes.end_time DESC"], ["r2", "r1", "r5", "r3", "r4"]),
        (["attributes.end_time"], ["r5", "r1", "r2", "r3", "r4"]),
        (["attributes.status", "run_name DESC"], ["r2", "r4", "r5", "r1", "r3"]),
        (["metrics.`my metric` DESC"], ["r1", "r3", "r2", "r4", "r5"]),
        (["metrics.loss", "metrics.acc"], ["r3", "r1", "r2", "r5", "r4"]),
        (["attributes.user_id DESC"], ["r2", "r3", "r4", "r1", "r5"]),
    ],
)
def test_order_by(order_by: list[str], expected: list[str]) -> None:
    assert run_ids(order_by=order_by) == expected


@pytest.mark.parametrize(
    ("order_by", "message"),
    [
        (["metrics.acc", "metrics.acc DESC"], "duplicate fields"),
        (["start_time", "created DESC"], "duplicate fields"),
        (["metrics.acc sideways"], "expected ASC or DESC"),
        (["metrics.acc DESC ASC"], "expected ASC or DESC"),
        ([""], "Expected a key"),
        (["datasets.name"], "datasets cannot be ordered by"),
        (["attributes.lifecycle_stage"], "Invalid attribute key 'lifecycle_stage'"),
        (["`Run name`"], "Invalid attribute key 'Run name'"),
        (["foo.bar"], "Invalid entity type 'foo'"),
        (["metrics.acc, params.lr"], "found ','"),
    ],
)
def test_invalid_order_by_raises_search_error(order_by: list[str], message: str) -> None:
    with pytest.raises(SearchError) as info:
        search_runs(MODELS, None, order_by, 10, None)
    assert message in str(info.value)


# --- paging ----------------------------------------------------------------------------------------


def many_runs(n: int, *, prefix: str = "run") -> list[m.Run]:
    # Few distinct start times and a metric on two thirds of the runs: lots of ties and missing keys.
    return [
        RunSpec(f"{prefix}{i:05d}", 1000 + i % 7, metrics={"m": float(i % 5)} if i % 3 else {}).model()
        for i in range(n)
    ]


def all_pages(
    runs: Sequence[m.Run], page_size: int, filter_string: str | None = None, order_by: Sequence[str] | None = None
) -> list[list[str]]:
    pages: list[list[str]] = []
    token: str | None = None
    while True:
        page, token = search_runs(runs, filter_string, order_by, page_size, token)
        pages.append([r.info.run_id or "" for r in page if r.info is not None])
        if token is None:
            return pages


@pytest.mark.parametrize("page_size", [1, 2, 3, 7, 10, 33, 100])
@pytest.mark.parametrize("order_by", [None, ["metrics.m DESC"], ["metrics.m", "attributes.start_time ASC"]])
def test_pages_concatenate_to_the_full_result(page_size: int, order_by: list[str] | None) -> None:
    runs = many_runs(100)
    full = run_ids(order_by=order_by, runs=runs)
    pages = all_pages(runs, page_size, order_by=order_by)
    assert [rid for page in pages for rid in page] == full
    assert all(len(page) == page_size for page in pages[:-1])


@pytest.mark.parametrize(("total", "page_size", "pages"), [(10, 5, 2), (10, 10, 1), (9, 3, 3), (0, 5, 1)])
def test_an_exactly_full_last_page_carries_no_token(total: int, page_size: int, pages: int) -> None:
    result = all_pages(many_runs(total), page_size)
    assert len(result) == pages
    assert all(len(page) == page_size for page in result if total)


def test_a_page_short_of_the_end_carries_a_token() -> None:
    page, token = search_runs(many_runs(11), None, None, 10, None)
    assert len(page) == 10
    assert token is not None
    last, token = search_runs(many_runs(11), None, None, 10, token)
    assert len(last) == 1
    assert token is None


@pytest.mark.parametrize("order_by", [None, ["metrics.m DESC"], ["metrics.m ASC"], ["attributes.run_id DESC"]])
def test_inserts_between_pages_cause_no_duplicates_or_skips(order_by: list[str] | None) -> None:
    runs = many_runs(60)
    original = {r.info.run_id for r in runs if r.info is not None}
    seen: list[str] = []
    token: str | None = None
    for round_ in range(100):
        page, token = search_runs(runs, None, order_by, 7, token)
        seen.extend(r.info.run_id or "" for r in page if r.info is not None)
        # New runs land before, among and after the ones already returned.
        runs = runs + many_runs(5, prefix=f"new{round_}-")
        if token is None:
            break
    assert len(seen) == len(set(seen)), "a run was returned twice"
    assert original <= set(seen), "an existing run was skipped"


def test_deleting_the_last_returned_item_does_not_break_paging() -> None:
    runs = many_runs(20)
    first, token = search_runs(runs, None, None, 5, None)
    runs = [r for r in runs if r is not first[-1]]
    rest = all_pages_from(runs, token)
    assert [r.info.run_id for r in first if r.info is not None] + rest == run_ids(runs=many_runs(20))


def all_pages_from(runs: Sequence[m.Run], token: str | None) -> list[str | None]:
    out: list[str | None] = []
    while token is not None:
        page, token = search_runs(runs, None, None, 5, token)
        out.extend(r.info.run_id for r in page if r.info is not None)
    return out


def test_paging_with_a_filter_and_nan_and_infinite_metrics() -> None:
    values = [NAN, float("inf"), float("-inf"), 0.0, 1.0, 2.0]
    runs = [RunSpec(f"n{i}", i % 3, metrics={"m": values[i % 6]} if i % 5 else {}).model() for i in range(40)]
    full = run_ids("metrics.m != 1", ["metrics.m DESC"], runs=runs)
    pages = all_pages(runs, 4, "metrics.m != 1", ["metrics.m DESC"])
    assert [rid for page in pages for rid in page] == full


_FRAGMENTS = [
    "metrics.acc",
    "params.lr",
    "tags.`my tag`",
    'tags."a b"',
    "attributes.status",
    "run_id",
    "datasets.name",
    "experiment_id",
    "name",
    "creation_time",
    "=",
    "!=",
    ">=",
    "<",
    "LIKE",
    "ILIKE",
    "IN",
    "NOT",
    "IS",
    "NULL",
    "AND",
    "OR",
    "ASC",
    "DESC",
    "'x'",
    "'%a_'",
    '"y"',
    "1",
    "-2.5e3",
    ".5",
    "(",
    ")",
    ",",
    "'",
    "`",
    '"',
    ".",
    "\\",
    "''",
    "é",
    ";",
    "-",
    "  ",
]


def test_random_input_raises_only_search_error() -> None:
    rng = random.Random(1234)
    exps = [e.model() for e in EXPERIMENTS]
    for _ in range(3000):
        text = rng.choice(["", " "]).join(rng.choice(_FRAGMENTS) for _ in range(rng.randint(1, 8)))
        token = base64.b64encode(text.encode()).decode()
        with contextlib.suppress(SearchError):
            search_runs(MODELS, text, None, 2, None)
        with contextlib.suppress(SearchError):
            search_runs(MODELS, None, [text], 2, None)
        with contextlib.suppress(SearchError):
            search_runs(MODELS, None, None, 2, token)
        with contextlib.suppress(SearchError):
            search_experiments(exps, text, None, 2, None)
        with contextlib.suppress(SearchError):
            search_experiments(exps, None, [text], 2, None)


def _token(doc: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode()


def test_page_tokens_are_opaque_base64_json() -> None:
    _, token = search_runs(MODELS, None, None, 2, None)
    assert token is not None
    assert isinstance(json.loads(base64.urlsafe_b64decode(token)), dict)


@pytest.mark.parametrize(
    "token",
    [
        "not a token!",
        "@@@@",
        "abc",  # bad padding
        base64.b64encode(b"\xff\xfe").decode(),
        base64.b64encode(b"not json").decode(),
        _token([1, 2, 3]),
        _token({"q": "x", "after": []}),
    ],
)
def test_undecodable_page_token_raises_search_error(token: str) -> None:
    with pytest.raises(SearchError, match="page token"):
        search_runs(MODELS, None, None, 2, token)


def test_token_from_another_query_is_rejected() -> None:
    _, token = search_runs(MODELS, "metrics.acc > 0", None, 1, None)
    assert token is not None
    with pytest.raises(SearchError, match="different filter or order_by"):
        search_runs(MODELS, "metrics.acc > 0.1", None, 1, token)
    with pytest.raises(SearchError, match="different filter or order_by"):
        search_runs(MODELS, "metrics.acc > 0", ["metrics.acc"], 1, token)
    with pytest.raises(SearchError, match="different filter or order_by"):
        search_experiments([], None, None, 1, token)


def test_tampered_sort_key_is_rejected() -> None:
    _, token = search_runs(MODELS, None, None, 1, None)
    assert token is not None
    doc = json.loads(base64.urlsafe_b64decode(token))
    for after in ([[0, "not-a-time"], [0, "r3"]], [[0, 300]], [[0, 300], [0, "r3"], [0, 1]], [[0, 300], "r3"]):
        with pytest.raises(SearchError, match="malformed sort key"):
            search_runs(MODELS, None, None, 1, _token({**doc, "after": after}))


def test_empty_token_means_first_page() -> None:
    page, _ = search_runs(MODELS, None, None, 2, "")
    assert [r.info.run_id for r in page if r.info is not None] == ["r3", "r2"]


def test_ten_thousand_runs_are_fast() -> None:
    runs = [
        RunSpec(
            f"big{i:05d}",
            i % 97,
            metrics={f"m{j}": float((i * j) % 13) for j in range(10)},
            params={f"p{j}": str(i % (j + 2)) for j in range(10)},
            tags={"team": "ab"[i % 2]},
        ).model()
        for i in range(10_000)
    ]
    started = time.perf_counter()
    pages = all_pages(runs, 1000, "metrics.m3 > 2 AND params.p5 != '1' AND tags.team LIKE 'a%'", ["metrics.m7 DESC"])
    elapsed = time.perf_counter() - started
    assert sum(len(p) for p in pages) == len({rid for p in pages for rid in p}) > 1000
    assert elapsed < 5, f"paging 10k runs took {elapsed:.2f}s"


# --- experiments -----------------------------------------------------------------------------------


@dataclass
class ExperimentSpec:
    experiment_id: str
    name: str
    creation_time: int | None
    last_update_time: int | None
    tags: dict[str, str] = field(default_factory=dict)

    def model(self) -> m.Experiment:
        return m.Experiment(
            experiment_id=self.experiment_id,
            name=self.name,
            artifact_location=f"file:///tmp/{self.experiment_id}",
            lifecycle_stage="active",
            creation_time=self.creation_time,
            last_update_time=self.last_update_time,
            tags=[m.ExperimentTag(key=k, value=v) for k, v in self.tags.items()],
        )


EXPERIMENTS = [
    ExperimentSpec("1", "Default", 10, 10),
    ExperimentSpec("2", "vision-resnet", 20, 50, {"team": "vision", "prio": "high"}),
    ExperimentSpec("3", "vision-vit", 20, 30, {"team": "vision"}),
    ExperimentSpec("4", "nlp", 40, 40, {"team": "NLP", "my tag": "v"}),
    ExperimentSpec("5", "old", None, None),
]
EXPERIMENT_MODELS = [e.model() for e in EXPERIMENTS]


def experiment_ids(
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
    experiments: Sequence[m.Experiment] = EXPERIMENT_MODELS,
) -> list[str]:
    page, token = search_experiments(experiments, filter_string, order_by, 1000, None)
    assert token is None
    return [e.experiment_id or "" for e in page]


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("name = 'nlp'", ["4"]),
        ("attribute.name = 'nlp'", ["4"]),
        ("name != 'nlp'", ["2", "3", "1", "5"]),
        ("name LIKE 'vision-%'", ["2", "3"]),
        ("name ILIKE 'DEFAULT'", ["1"]),
        ("creation_time = 20", ["2", "3"]),
        ("creation_time > 10", ["4", "2", "3"]),
        ("creation_time <= 20", ["2", "3", "1"]),  # a missing time never matches
        ("last_update_time >= 40", ["4", "2"]),
        ("last_update_time != 40", ["2", "3", "1"]),
        ("experiment_id = '3'", ["3"]),
        ("experiment_id != '3'", ["4", "2", "1", "5"]),
        ("experiment_id IN ('1', '4', '99')", ["4", "1"]),
        ("experiment_id NOT IN ('1', '4')", ["2", "3", "5"]),
        ("tags.team = 'vision'", ["2", "3"]),
        ("tag.team ILIKE 'nlp'", ["4"]),
        ("tags.team != 'vision'", ["4"]),
        ("tags.team LIKE 'v%' AND tags.prio = 'high'", ["2"]),
        ("tags.prio IS NULL", ["4", "3", "1", "5"]),
        ("tags.prio IS NOT NULL", ["2"]),
        ("tags.`my tag` = 'v'", ["4"]),
        ("name LIKE '%i%' and creation_time < 30", ["2", "3"]),
    ],
)
def test_experiment_filters(filter_string: str, expected: list[str]) -> None:
    assert experiment_ids(filter_string) == expected


@pytest.mark.parametrize(
    ("filter_string", "message"),
    [
        ("name = 'a' OR name = 'b'", "OR"),
        ("attributes.name = 'nlp'", "Invalid entity type 'attributes'"),  # MLflow accepts attribute. only
        ("metrics.acc > 1", "Invalid entity type 'metrics'"),
        ("lifecycle_stage = 'active'", "Invalid attribute key 'lifecycle_stage'"),
        ("name IN ('nlp')", "Invalid comparator 'IN' for attribute"),
        ("name > 'a'", "Invalid comparator '>' for attribute"),
        ("name IS NULL", "Invalid comparator 'IS NULL' for attribute"),
        ("name = nlp", "Expected a quoted string value"),
        ("creation_time > 1.5", "is not an integer"),
        ("creation_time > '1'", "Expected a numeric value"),
        ("creation_time LIKE '1%'", "Invalid comparator 'LIKE'"),
        ("experiment_id > '1'", "Invalid comparator '>' for attribute"),
        ("experiment_id = 1", "Expected a quoted string value"),
        ("experiment_id = 'abc'", "IDs must be integers"),
        ("experiment_id IN ('1', 'x')", "IDs must be integers"),
        ("tags.team IN ('a')", "Invalid comparator 'IN' for tag"),
        ("tags.team = 'unterminated", "Unterminated string"),
    ],
)
def test_invalid_experiment_filters_raise_search_error(filter_string: str, message: str) -> None:
    with pytest.raises(SearchError) as info:
        search_experiments(EXPERIMENT_MODELS, filter_string, None, 10, None)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        (None, ["4", "2", "3", "1", "5"]),  # creation_time DESC, experiment_id ASC; missing last
        ([], ["4", "2", "3", "1", "5"]),
        (["name"], ["1", "4", "5", "2", "3"]),
        (["attribute.name DESC"], ["3", "2", "5", "4", "1"]),
        (["creation_time"], ["1", "3", "2", "4", "5"]),  # ties broken by experiment_id DESC
        (["creation_time ASC", "experiment_id ASC"], ["1", "2", "3", "4", "5"]),
        (["last_update_time DESC"], ["2", "4", "3", "1", "5"]),
        (["experiment_id DESC"], ["5", "4", "3", "2", "1"]),
    ],
)
def test_experiment_order_by(order_by: list[str] | None, expected: list[str]) -> None:
    assert experiment_ids(order_by=order_by) == expected


def test_experiment_ids_order_numerically() -> None:
    exps = [ExperimentSpec(i, f"e{i}", 1, 1).model() for i in ("10", "9", "100", "2")]
    assert experiment_ids(order_by=["experiment_id"], experiments=exps) == ["2", "9", "10", "100"]
    assert experiment_ids(experiments=exps) == ["2", "9", "10", "100"]


@pytest.mark.parametrize(
    ("order_by", "message"),
    [
        (["tags.team"], "Invalid order_by entity: tag"),
        (["lifecycle_stage"], "Invalid attribute key"),
        (["attributes.name"], "Invalid entity type 'attributes'"),
        (["name upward"], "expected ASC or DESC"),
    ],
)
def test_invalid_experiment_order_by_raises_search_error(order_by: list[str], message: str) -> None:
    with pytest.raises(SearchError) as info:
        search_experiments(EXPERIMENT_MODELS, None, order_by, 10, None)
    assert message in str(info.value)


@pytest.mark.parametrize(("page_size", "pages"), [(1, 5), (2, 3), (5, 1), (4, 2)])
def test_experiment_pages(page_size: int, pages: int) -> None:
    result: list[str] = []
    token: str | None = None
    for _ in range(pages):
        page, token = search_experiments(EXPERIMENT_MODELS, None, None, page_size, token)
        result.extend(e.experiment_id or "" for e in page)
    assert token is None
    assert result == experiment_ids()


def test_experiment_paging_survives_inserts() -> None:
    exps = [ExperimentSpec(str(i), f"e{i}", i % 4, 0).model() for i in range(1, 31)]
    expected = experiment_ids(experiments=exps)
    seen: list[str] = []
    token: str | None = None
    next_id = 100
    while True:
        page, token = search_experiments(exps, None, None, 4, token)
        seen.extend(e.experiment_id or "" for e in page)
        exps = [*exps, ExperimentSpec(str(next_id), f"e{next_id}", next_id % 4, 0).model()]
        next_id += 1
        if token is None:
            break
    assert len(seen) == len(set(seen))
    assert set(expected) <= set(seen)


# --- parity with MLflow's own implementation -------------------------------------------------------


def _mlflow_run(spec: RunSpec) -> Any:
    from mlflow.entities import (
        Dataset,
        DatasetInput,
        InputTag,
        Metric,
        Param,
        Run,
        RunData,
        RunInfo,
        RunInputs,
        RunTag,
    )

    info = RunInfo(
        run_id=spec.run_id,
        experiment_id="0",
        user_id=spec.user_id,
        status=spec.status,
        start_time=spec.start_time,
        end_time=spec.end_time,
        lifecycle_stage="active",
        artifact_uri=spec.artifact_uri,
        run_name=spec.run_name,
    )
    data = RunData(
        metrics=[Metric(k, v, 1, 0) for k, v in spec.metrics.items()],
        params=[Param(k, v) for k, v in spec.params.items()],
        tags=[RunTag(k, v) for k, v in spec.tags.items()],
    )
    inputs = RunInputs(
        dataset_inputs=[
            DatasetInput(
                Dataset(name=name, digest=digest, source_type="local", source="{}"),
                [] if context is None else [InputTag("mlflow.data.context", context)],
            )
            for name, digest, context in spec.datasets
        ]
    )
    return Run(info, data, inputs)


PARITY_FILTERS = [
    "metrics.acc > 0.5",
    "metrics.acc != 0.5",
    "metrics.acc = 0.5",
    "metrics.loss <= -1",
    "metrics.missing != 1",
    "metrics.`my metric` >= 3",
    "metrics.a.b = 1",
    "params.lr = '0.1'",
    "params.lr != '0.1'",
    "params.opt LIKE '%a%'",
    "params.opt ILIKE 'A%'",
    "params.note LIKE '50%\\_%'",
    "params.note LIKE '%\\_off'",
    "params.lr IS NULL",
    "params.lr IS NOT NULL",
    "tags.team = 'vision'",
    "tags.team != 'vision'",
    "tags.team ILIKE 'vision%'",
    "tags.`my tag` LIKE 'x_y'",
    "tags.team IS NULL",
    "attributes.status = 'FINISHED'",
    "attributes.status != 'RUNNING'",
    "attr.user_id ILIKE 'B%'",
    "run.artifact_uri LIKE 's3:%'",
    "run_name = 'alpha'",
    "`Run Name` LIKE 'A%'",
    "attributes.run_id IN ('r1', 'r4')",
    "attributes.run_id NOT IN ('r1', 'r4')",
    "attributes.start_time > 100",
    "created < 200",
    "attributes.end_time >= 150",
    "attributes.end_time != 150",
    "datasets.name = 'train'",
    "datasets.name != 'train'",
    "datasets.digest IN ('d1', 'd3')",
    "datasets.context LIKE 'train%'",
    "metrics.acc > 0 and params.lr = '0.1' AND tags.team ILIKE 'v%'",
]
PARITY_ORDERS: list[list[str]] = [
    [],
    ["metrics.acc"],
    ["metrics.acc DESC"],
    ["metrics.loss DESC", "params.lr"],
    ["params.lr DESC"],
    ["params.opt", "metrics.acc DESC"],
    ["tags.team"],
    ["tags.team DESC", "attributes.run_id DESC"],
    ["attributes.start_time"],
    ["created DESC"],
    ["attributes.end_time"],
    ["attributes.end_time DESC"],
    ["attributes.status", "run_name"],
    ["attributes.user_id DESC", "attributes.artifact_uri"],
    ["metrics.`my metric` DESC"],
]


@pytest.fixture(scope="module")
def mlflow_search() -> Any:
    search_utils = importlib.import_module("mlflow.utils.search_utils")
    return search_utils


@pytest.mark.parametrize("filter_string", PARITY_FILTERS)
def test_filter_matches_mlflow(mlflow_search: Any, filter_string: str) -> None:
    theirs = mlflow_search.SearchUtils.filter([_mlflow_run(s) for s in RUNS], filter_string)
    assert matching(filter_string) == {r.info.run_id for r in theirs}


@pytest.mark.parametrize("order_by", PARITY_ORDERS)
def test_order_by_matches_mlflow(mlflow_search: Any, order_by: list[str]) -> None:
    theirs = mlflow_search.SearchUtils.sort([_mlflow_run(s) for s in RUNS], order_by)
    assert run_ids(order_by=order_by) == [r.info.run_id for r in theirs]


@pytest.mark.parametrize(
    "filter_string",
    [
        "metrics.acc > 0.5 OR metrics.loss < 1",
        "params.lr > '0.1'",
        "metrics.acc LIKE '1'",
        "attributes.status IN ('FINISHED')",
        "attributes.lifecycle_stage = 'active'",
        "params.lr IN ('0.1')",
        "metrics.acc = '1'",
        "params.lr = 1",
        "foo.bar = 'x'",
        "datasets.source = 'x'",
        "metrics.acc IS NULL",
        "(metrics.acc > 1)",
    ],
)
def test_filters_mlflow_rejects_are_rejected(mlflow_search: Any, filter_string: str) -> None:
    with pytest.raises(Exception, match=r".") as theirs:
        mlflow_search.SearchUtils.filter([_mlflow_run(s) for s in RUNS], filter_string)
    assert type(theirs.value).__name__ == "MlflowException"
    with pytest.raises(SearchError):
        search_runs(MODELS, filter_string, None, 10, None)


def _mlflow_experiment(spec: ExperimentSpec) -> Any:
    from mlflow.entities import Experiment, ExperimentTag

    return Experiment(
        spec.experiment_id,
        spec.name,
        f"file:///tmp/{spec.experiment_id}",
        "active",
        tags=[ExperimentTag(k, v) for k, v in spec.tags.items()],
        creation_time=spec.creation_time,
        last_update_time=spec.last_update_time,
    )


@pytest.mark.parametrize(
    "filter_string",
    [
        "name = 'nlp'",
        "attribute.name LIKE 'vision%'",
        "name ILIKE '%T'",
        "creation_time > 10",
        "last_update_time <= 40",
        "experiment_id IN ('1', '3')",
        "experiment_id != '2'",
        "tags.team = 'vision'",
        "tags.team != 'vision'",
        "tags.prio IS NULL",
        "tag.team ILIKE 'n%' AND creation_time = 40",
    ],
)
def test_experiment_filter_matches_mlflow(mlflow_search: Any, filter_string: str) -> None:
    # MLflow's in-memory filter cannot compare a missing time, so leave out the experiment without one.
    timed = [e for e in EXPERIMENTS if e.creation_time is not None]
    theirs = mlflow_search.SearchExperimentsUtils.filter([_mlflow_experiment(e) for e in timed], filter_string)
    ours = experiment_ids(filter_string, experiments=[e.model() for e in timed])
    assert set(ours) == {e.experiment_id for e in theirs}


@pytest.mark.parametrize(
    "order_by",
    [
        ["creation_time DESC", "experiment_id ASC"],
        ["name"],
        ["name DESC"],
        ["creation_time"],
        ["last_update_time DESC", "name"],
        ["experiment_id DESC"],
    ],
)
def test_experiment_order_by_matches_mlflow(mlflow_search: Any, order_by: list[str]) -> None:
    theirs = mlflow_search.SearchExperimentsUtils.sort([_mlflow_experiment(e) for e in EXPERIMENTS], order_by)
    assert experiment_ids(order_by=order_by) == [e.experiment_id for e in theirs]
