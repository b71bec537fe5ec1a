"""Compile ``spec/*.proto`` once and read them into a small model that every emitter shares.

protoc (from the pinned ``grpcio-tools``) compiles the protos to a FileDescriptorSet with source info,
so doc comments come along. Our custom options (``spec/options.proto``) are read by compiling that one
file to Python in a temporary folder and importing it, which registers its extensions before the
descriptor set is parsed.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SPEC_DIR = ROOT / "spec"
# Compiled in this order; options.proto first because the others import it.
PROTO_FILES = ("options.proto", "errors.proto", "tracking.proto", "artifacts.proto", "model_registry.proto")

SCALARS = {
    1: "double",
    2: "float",
    3: "int64",
    4: "uint64",
    5: "int32",
    8: "bool",
    9: "string",
    12: "bytes",
    13: "uint32",
    17: "sint32",
    18: "sint64",
}
TYPE_MESSAGE, TYPE_ENUM = 11, 14
LABEL_REPEATED = 3


@dataclass(frozen=True)
class Rules:
    required: bool = False
    max_length: int | None = None
    max_items: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    over_length: str = "reject"
    deprecated_for: str | None = None
    client_default: int | None = None  # what a client sends when its caller gives nothing


@dataclass
class Field:
    name: str
    number: int
    kind: str  # a scalar name, "message" or "enum"
    type_name: str | None  # full proto name of the message or enum
    repeated: bool
    default: Any
    doc: str
    rules: Rules
    is_map: bool = False
    map_value: Field | None = None


@dataclass
class Message:
    full_name: str
    name: str  # generated type name, unique across files
    doc: str
    fields: list[Field]
    max_total_items: int | None = None
    map_entry: bool = False


@dataclass
class EnumValue:
    name: str
    number: int
    doc: str
    http_status: int | None = None


@dataclass
class Enum:
    full_name: str
    name: str
    doc: str
    values: list[EnumValue]


@dataclass
class Binding:
    method: str
    path: str  # full path; path parameters written as "{name}" (multi-segment ones noted below)
    since: str
    request_body: str
    response_body: str
    retry_safe: bool = True
    path_params: tuple[str, ...] = ()
    multi_segment: tuple[str, ...] = ()
    # Path parameters that carry a field of the request message (``/logged-models/{model_id}``): the
    # value comes from that field. The others (artifact paths) are arguments of their own.
    field_params: tuple[str, ...] = ()


@dataclass
class Rpc:
    name: str
    service: str
    doc: str
    request: str  # full proto name
    response: str
    bindings: list[Binding]
    type_prefix: str = ""


@dataclass
class Api:
    messages: dict[str, Message] = field(default_factory=dict)  # by full proto name, in file order
    enums: dict[str, Enum] = field(default_factory=dict)
    rpcs: list[Rpc] = field(default_factory=list)
    services: dict[str, str] = field(default_factory=dict)  # name -> doc
    error_codes: Enum | None = None
    sources: tuple[str, ...] = PROTO_FILES


def _protoc(args: list[str]) -> None:
    import grpc_tools

    include = str(Path(grpc_tools.__file__).parent / "_proto")
    cmd = [sys.executable, "-m", "grpc_tools.protoc", f"-I{SPEC_DIR}", f"-I{include}", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or proc.stderr.strip():
        raise SystemExit(f"protoc failed:\n{proc.stderr}")


def _load_options_module(tmp: Path) -> ModuleType:
    _protoc([f"--python_out={tmp}", "options.proto"])
    spec = importlib.util.spec_from_file_location("options_pb2", tmp / "options_pb2.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["options_pb2"] = module
    spec.loader.exec_module(module)
    return module


def _comments(file_proto: Any) -> dict[tuple[int, ...], str]:
    out: dict[tuple[int, ...], str] = {}
    for loc in file_proto.source_code_info.location:
        text = loc.leading_comments.strip()
        if text:
            lines = [line.strip() for line in text.splitlines()]
            out[tuple(loc.path)] = " ".join(line for line in lines if line)
    return out


_PARAM = re.compile(r"\{(\w+)(=\*\*)?\}")


def load() -> Api:
    from google.protobuf import descriptor_pb2

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        opts = _load_options_module(tmp)
        out = tmp / "spec.pb"
        _protoc(["--include_source_info", f"--descriptor_set_out={out}", *PROTO_FILES])
        fds = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    api = Api()
    for fp in fds.file:
        if fp.name == "options.proto":
            continue
        _read_file(api, fp, opts)
    return api


def _rules(options: Any, opts: ModuleType) -> Rules:
    if not options.HasExtension(opts.rules):
        return Rules()
    r = options.Extensions[opts.rules]
    return Rules(
        required=r.required,
        max_length=r.max_length if r.HasField("max_length") else None,
        max_items=r.max_items if r.HasField("max_items") else None,
        minimum=r.minimum if r.HasField("minimum") else None,
        maximum=r.maximum if r.HasField("maximum") else None,
        over_length=r.over_length,
        deprecated_for=r.deprecated_for or None,
        client_default=r.client_default if r.HasField("client_default") else None,
    )


def _default(fp: Any) -> Any:
    if not fp.HasField("default_value"):
        return None
    raw = fp.default_value
    if fp.type in (TYPE_ENUM, 9):
        return raw
    if fp.type == 8:
        return raw == "true"
    if fp.type in (1, 2):
        return float(raw)
    return int(raw)


def _read_file(api: Api, fp: Any, opts: ModuleType) -> None:
    comments = _comments(fp)
    prefix = fp.options.Extensions[opts.type_prefix] if fp.options.HasExtension(opts.type_prefix) else ""
    package = fp.package

    def read_enum(ep: Any, path: tuple[int, ...], scope: str, py_scope: str) -> None:
        full = f"{scope}.{ep.name}"
        values = []
        for j, vp in enumerate(ep.value):
            status = None
            if vp.options.HasExtension(opts.http_status):
                status = vp.options.Extensions[opts.http_status]
            values.append(EnumValue(vp.name, vp.number, comments.get((*path, 2, j), ""), status))
        api.enums[full] = Enum(full, py_scope + ep.name, comments.get(path, ""), values)

    def read_message(mp: Any, path: tuple[int, ...], scope: str, py_scope: str) -> None:
        full = f"{scope}.{mp.name}"
        py_name = py_scope + mp.name
        msg = Message(full, py_name, comments.get(path, ""), [], map_entry=mp.options.map_entry)
        if mp.options.HasExtension(opts.message_rules):
            mr = mp.options.Extensions[opts.message_rules]
            msg.max_total_items = mr.max_total_items if mr.HasField("max_total_items") else None
        for k, nested in enumerate(mp.nested_type):
            read_message(nested, (*path, 3, k), full, py_name)
        for k, nested_enum in enumerate(mp.enum_type):
            read_enum(nested_enum, (*path, 4, k), full, py_name)
        api.messages[full] = msg
        for j, f in enumerate(mp.field):
            kind = "message" if f.type == TYPE_MESSAGE else "enum" if f.type == TYPE_ENUM else SCALARS[f.type]
            msg.fields.append(
                Field(
                    name=f.name,
                    number=f.number,
                    kind=kind,
                    type_name=f.type_name.lstrip(".") or None,
                    repeated=f.label == LABEL_REPEATED,
                    default=_default(f),
                    doc=comments.get((*path, 2, j), ""),
                    rules=_rules(f.options, opts),
                )
            )

    for i, ep in enumerate(fp.enum_type):
        read_enum(ep, (5, i), package, prefix)
    for i, mp in enumerate(fp.message_type):
        read_message(mp, (4, i), package, prefix)
    if fp.name == "errors.proto":
        api.error_codes = api.enums[f"{package}.ErrorCode"]

    for i, sp in enumerate(fp.service):
        api.services[sp.name] = comments.get((6, i), "")
        base = sp.options.Extensions[opts.base_path]
        for j, mp in enumerate(sp.method):
            bindings = []
            request_fields = {f.name for f in api.messages[mp.input_type.lstrip(".")].fields}
            for b in mp.options.Extensions[opts.http]:
                params = _PARAM.findall(b.path)
                bindings.append(
                    Binding(
                        method=b.method,
                        path=base + _PARAM.sub(r"{\1}", b.path),
                        since=b.since,
                        request_body=b.request_body,
                        response_body=b.response_body,
                        retry_safe=b.retry_safe,
                        path_params=tuple(name for name, _ in params),
                        multi_segment=tuple(name for name, star in params if star),
                        field_params=tuple(name for name, _ in params if name in request_fields),
                    )
                )
            if not bindings:
                raise SystemExit(f"{sp.name}.{mp.name} has no (mlflow_client.spec.http) binding")
            api.rpcs.append(
                Rpc(
                    name=mp.name,
                    service=sp.name,
                    doc=comments.get((6, i, 2, j), ""),
                    request=mp.input_type.lstrip("."),
                    response=mp.output_type.lstrip("."),
                    bindings=bindings,
                    type_prefix=prefix,
                )
            )
    # Resolve map fields: protoc turns map<K, V> into a repeated *Entry message.
    for msg in api.messages.values():
        for f in msg.fields:
            if f.kind == "message" and f.type_name and api.messages[f.type_name].map_entry:
                f.is_map = True
                f.repeated = False
                f.map_value = api.messages[f.type_name].fields[1]
