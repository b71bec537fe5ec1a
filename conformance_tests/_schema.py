"""Validate JSON bodies against the schemas of ``spec/openapi.yaml``.

By default schemas are open (servers may add fields). ``closed=True`` forbids fields a schema does not
list, which our own interop tests use to find fields a real server sends but the spec lacks.
"""

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
    doc = copy.deepcopy(doc)
    for name, schema in doc["components"]["schemas"].items():
        if schema.get("type") == "object" and "properties" in schema and name != "ErrorResponse":
            schema["additionalProperties"] = False
    return doc


@functools.cache
def _validator(schema_name: str, closed: bool = False) -> Draft202012Validator:
    doc = _closed(openapi()) if closed else openapi()
    registry: Registry[Any] = Registry().with_resource(URN, Resource.from_contents(doc, DRAFT202012))
    return Draft202012Validator({"$ref": f"{URN}#/components/schemas/{schema_name}"}, registry=registry)


def client_defaults(method: str, path: str) -> dict[str, Any]:
    """The query parameters a client sends when its caller gives none (``x-client-default``), of ``method path``."""
    op = openapi()["paths"].get(path, {}).get(method.lower(), {})
    return {
        p["name"]: p["schema"]["x-client-default"]
        for p in op.get("parameters", [])
        if p.get("in") == "query" and "x-client-default" in p.get("schema", {})
    }


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


def errors(schema_name: str, body: Any, *, closed: bool = False) -> list[str]:
    validator = _validator(schema_name, closed)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]
