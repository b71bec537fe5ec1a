"""Validate JSON bodies against the schemas of ``spec/openapi.yaml`` (open schemas: servers may add fields)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC = Path(__file__).resolve().parent.parent / "spec" / "openapi.yaml"
URN = "urn:mlflow-client:openapi"


@functools.lru_cache(maxsize=1)
def openapi() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(SPEC.read_text())
    return doc


@functools.cache
def _validator(schema_name: str) -> Draft202012Validator:
    registry: Registry[Any] = Registry().with_resource(URN, Resource.from_contents(openapi(), DRAFT202012))
    return Draft202012Validator({"$ref": f"{URN}#/components/schemas/{schema_name}"}, registry=registry)


def response_schema_name(method: str, path: str) -> str | None:
    """The schema of the 200 answer of ``method path`` (a spec path template), if it is JSON."""
    op = openapi()["paths"].get(path, {}).get(method.lower())
    if op is None:
        return None
    content = op["responses"].get("200", {}).get("content", {})
    if "application/json" not in content:
        return None
    ref: str = content["application/json"]["schema"]["$ref"]
    return ref.rsplit("/", 1)[1]


def errors(schema_name: str, body: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _validator(schema_name).iter_errors(body)]
