"""Validate JSON bodies against the schemas of ``spec/openapi.yaml``."""

from __future__ import annotations

import copy
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


def _closed(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy in which every message schema forbids fields it does not list, so that a field a
    real server sends but our spec lacks fails validation."""
    doc = copy.deepcopy(doc)
    for name, schema in doc["components"]["schemas"].items():
        if schema.get("type") == "object" and "properties" in schema and name != "ErrorResponse":
            schema["additionalProperties"] = False
    return doc


@functools.cache
def validator(schema_name: str, closed: bool = True) -> Draft202012Validator:
    doc = _closed(openapi()) if closed else openapi()
    registry: Registry[Any] = Registry().with_resource(URN, Resource.from_contents(doc, DRAFT202012))
    return Draft202012Validator({"$ref": f"{URN}#/components/schemas/{schema_name}"}, registry=registry)


def response_schema_name(method: str, path: str) -> str:
    op = openapi()["paths"][path][method.lower()]
    ref: str = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    return ref.rsplit("/", 1)[1]


def errors(schema_name: str, body: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator(schema_name).iter_errors(body)]
