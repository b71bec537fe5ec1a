"""Emit ``spec/openapi.yaml`` (OpenAPI 3.1) from the model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .model import Api, Binding, Field, Message, Rpc

OUTPUT = Path("spec/openapi.yaml")
API_VERSION = "2.0"
SPEC_VERSION = "0.1.0"
REF = "#/components/schemas/"

_INT_FORMATS = {
    "int64": "int64",
    "uint64": "int64",
    "sint64": "int64",
    "int32": "int32",
    "uint32": "int32",
    "sint32": "int32",
}


def _scalar(kind: str) -> dict[str, Any]:
    if kind in _INT_FORMATS:
        return {"type": "integer", "format": _INT_FORMATS[kind]}
    if kind in ("double", "float"):
        # protobuf's JSON mapping spells non-finite values as strings.
        return {"oneOf": [{"type": "number", "format": kind}, {"$ref": REF + "NonFiniteNumber"}]}
    if kind == "bool":
        return {"type": "boolean"}
    return {"type": "string"}


def _field_schema(api: Api, f: Field) -> dict[str, Any]:
    if f.is_map:
        assert f.map_value is not None
        item = _field_schema(api, f.map_value)
        schema: dict[str, Any] = {"type": "object", "additionalProperties": item}
    else:
        if f.kind == "message":
            assert f.type_name
            item = {"$ref": REF + api.messages[f.type_name].name}
        elif f.kind == "enum":
            assert f.type_name
            item = {"$ref": REF + api.enums[f.type_name].name}
        else:
            item = _scalar(f.kind)
        r = f.rules
        if r.max_length is not None:
            if r.over_length == "truncate":
                item["x-truncated-after"] = r.max_length
            else:
                item["maxLength"] = r.max_length
        if r.minimum is not None:
            item["minimum"] = r.minimum
        if r.maximum is not None:
            item["maximum"] = r.maximum
        if f.default is not None and "$ref" not in item and not f.repeated:
            item["default"] = f.default
        schema = {"type": "array", "items": item} if f.repeated else item
        if f.repeated and r.max_items is not None:
            schema["maxItems"] = r.max_items
    doc = f.doc
    if f.rules.max_length is not None and f.rules.over_length == "truncate":
        doc += f" Values longer than {f.rules.max_length} characters are truncated by the server."
    if f.default is not None and f.kind == "enum":
        doc += f" Default: {f.default}."
    if doc:
        schema = (
            {"description": doc.strip(), **schema} if "$ref" not in schema else {**schema, "description": doc.strip()}
        )
    if f.rules.deprecated_for:
        schema["deprecated"] = True
    if f.rules.client_default is not None:
        # Not OpenAPI's "default" (what a server assumes): what a client sends when its caller gives nothing.
        schema["x-client-default"] = f.rules.client_default
    return schema


def _message_schema(api: Api, msg: Message) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object"}
    if msg.doc:
        schema["description"] = msg.doc
    schema["properties"] = {f.name: _field_schema(api, f) for f in msg.fields}
    required = [f.name for f in msg.fields if f.rules.required]
    if required:
        schema["required"] = required
    if msg.max_total_items is not None:
        schema["x-max-total-items"] = msg.max_total_items
    return schema


def _summary(doc: str, fallback: str) -> str:
    first = doc.split(". ", maxsplit=1)[0].rstrip(".")
    return first if first else fallback


def _operation(api: Api, rpc: Rpc, binding: Binding, op_id: str, tag: str) -> dict[str, Any]:
    req = api.messages[rpc.request]
    resp = api.messages[rpc.response]
    op: dict[str, Any] = {
        "operationId": op_id,
        "summary": _summary(rpc.doc, rpc.name),
        "description": rpc.doc,
        "tags": [tag],
        "x-rpc": f"{rpc.service}.{rpc.name}",
        "x-since": binding.since,
        "x-retry-safe": binding.retry_safe,
    }
    field_docs = {f.name: f.doc for f in req.fields}
    params: list[dict[str, Any]] = [
        {
            "name": p,
            "in": "path",
            "required": True,
            "description": "Artifact path relative to the artifact root; may contain slashes."
            if p in binding.multi_segment
            else field_docs.get(p) or p,
            "schema": {"type": "string"},
        }
        for p in binding.path_params
    ]
    body_free = binding.method == "DELETE" and all(f.name in binding.field_params for f in req.fields)
    if binding.method == "GET" or body_free:  # MLflow reads other methods' fields (DELETE's too) from the body
        # A field carried by the path is not repeated as a query parameter.
        for f in (f for f in req.fields if f.name not in binding.field_params):
            param: dict[str, Any] = {"name": f.name, "in": "query"}
            if f.rules.required:
                param["required"] = True
            schema = _field_schema(api, f)
            if "description" in schema:
                param["description"] = schema.pop("description")
            if f.rules.deprecated_for:
                param["deprecated"] = True
                schema.pop("deprecated", None)
            param["schema"] = schema
            if f.repeated:
                param["style"] = "form"
                param["explode"] = True
            params.append(param)
    elif binding.request_body == "binary":
        op["requestBody"] = {
            "required": False,  # an empty body is an empty file
            "content": {
                "application/octet-stream": {
                    "schema": {"type": "string", "contentMediaType": "application/octet-stream"}
                }
            },
        }
    else:
        # Servers read a missing body as an empty message, so it is optional unless a field is required.
        op["requestBody"] = {
            "required": any(f.rules.required for f in req.fields),
            "content": {"application/json": {"schema": {"$ref": REF + req.name}}},
        }
    if params:
        op["parameters"] = params
    if binding.response_body == "binary":
        ok = {
            "description": "The file's bytes.",
            "content": {
                "application/octet-stream": {
                    "schema": {"type": "string", "contentMediaType": "application/octet-stream"}
                }
            },
        }
    elif binding.response_body == "none":
        ok = {"description": "Success; the body is empty."}
    else:
        ok = {
            "description": "Success.",
            "content": {"application/json": {"schema": {"$ref": REF + resp.name}}},
        }
    op["responses"] = {
        "200": ok,
        "default": {
            "description": "Failure, as MLflow reports it.",
            "content": {"application/json": {"schema": {"$ref": REF + "ErrorResponse"}}},
        },
    }
    return op


def _tag(binding: Binding, rpc: Rpc) -> str:
    if rpc.type_prefix:
        return "mlflow-artifacts"
    return binding.path.split("/")[4]  # /api/2.0/mlflow/<group>/...


def build(api: Api) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for enum in api.enums.values():
        schema: dict[str, Any] = {
            "type": "string",
            "description": enum.doc,
            "enum": [v.name for v in enum.values],
        }
        schema["x-enum-descriptions"] = {v.name: v.doc for v in enum.values}
        schema["x-enum-numbers"] = {v.name: v.number for v in enum.values}
        if any(v.http_status for v in enum.values):
            schema["x-http-status"] = {v.name: v.http_status for v in enum.values}
        schemas[enum.name] = schema
    for msg in api.messages.values():
        if msg.map_entry:
            continue
        schemas[msg.name] = _message_schema(api, msg)
    schemas["NonFiniteNumber"] = {
        "type": "string",
        "description": "How protobuf's JSON mapping writes a floating-point value that is not a finite number.",
        "enum": ["NaN", "Infinity", "-Infinity"],
    }
    paths: dict[str, dict[str, Any]] = {}
    for rpc in api.rpcs:
        base_id = (
            (rpc.type_prefix[:1].lower() + rpc.type_prefix[1:] + rpc.name[0].upper() + rpc.name[1:])
            if rpc.type_prefix
            else rpc.name
        )
        for i, b in enumerate(rpc.bindings):
            op_id = base_id if i == 0 else base_id + b.method.capitalize()
            paths.setdefault(b.path, {})[b.method.lower()] = _operation(api, rpc, b, op_id, _tag(b, rpc))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "MLflow Tracking and Model Registry REST API",
            "version": SPEC_VERSION,
            "summary": "The tracking, model registry and artifact services of MLflow-compatible servers (2.x, 3.x).",
            "description": (
                "Generated from the protos in spec/ by `python -m codegen`; do not edit. "
                f"REST API version {API_VERSION}. "
                "int64 fields are sent as JSON numbers; servers also accept numeric strings. "
                "Responses omit empty and unset fields; clients must ignore fields they do not know."
            ),
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": "http://127.0.0.1:5000", "description": "A local tracking server."}],
        "tags": [{"name": name, "description": doc} for name, doc in _tags(api).items()],
        "paths": paths,
        "components": {"schemas": schemas},
    }


# What each service's tags are called in their descriptions; a new service adds its line.
_AREA = {"MlflowService": "Tracking", "ModelRegistryService": "Model Registry", "MlflowArtifactsService": "Artifacts"}


def _tags(api: Api) -> dict[str, str]:
    tags: dict[str, str] = {}
    for rpc in api.rpcs:
        for b in rpc.bindings:
            tag = _tag(b, rpc)
            tags.setdefault(
                tag, api.services[rpc.service] if rpc.type_prefix else f"{_AREA[rpc.service]} RPCs under /{tag}."
            )
    return tags


def emit(api: Api) -> dict[Path, str]:
    import yaml

    doc = build(api)
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
    header = "# Generated by `python -m codegen` from spec/*.proto. Do not edit.\n"
    return {OUTPUT: header + text}
