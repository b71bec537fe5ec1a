"""``python -m codegen [--check]``: regenerate every output from spec/, or fail on drift."""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

from . import emit_java, emit_openapi, emit_python, emit_r
from .model import ROOT, load


def outputs() -> dict[Path, str]:
    api = load()
    files: dict[Path, str] = {}
    for emitter in EMITTERS:
        files.update(emitter.emit(api))
    return files


EMITTERS = (emit_openapi, emit_python, emit_java, emit_r)


def owned_files() -> list[Path]:
    """Files that sit where only the generator writes (each emitter's OWNED folder/glob pairs)."""
    found: list[Path] = []
    for emitter in EMITTERS:
        for folder, pattern in getattr(emitter, "OWNED", ()):
            found += sorted(p.relative_to(ROOT) for p in (ROOT / folder).glob(pattern) if p.is_file())
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if any output is stale")
    args = parser.parse_args(argv)
    drift = 0
    files = outputs()
    for stale in owned_files():
        if stale not in files:
            drift += 1
            if args.check:
                print(f"drift: {stale} is not generated from spec/", file=sys.stderr)
            else:
                (ROOT / stale).unlink()
                print(f"removed {stale}")
    for rel, text in sorted(files.items()):
        path = ROOT / rel
        current = path.read_text() if path.exists() else None
        if current == text:
            continue
        if args.check:
            drift += 1
            print(f"drift: {rel} differs from what spec/ generates", file=sys.stderr)
            diff = difflib.unified_diff(
                (current or "").splitlines(), text.splitlines(), str(rel), "generated", lineterm=""
            )
            for line in list(diff)[:20]:
                print("  " + line, file=sys.stderr)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {rel}")
    if args.check:
        if drift:
            print(f"{drift} generated file(s) out of date: run `make generate`", file=sys.stderr)
            return 1
        print("generated files are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
