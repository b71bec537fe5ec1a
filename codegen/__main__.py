"""``python -m codegen [--check]``: regenerate every output from spec/, or fail on drift."""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

from . import emit_openapi, emit_python
from .model import ROOT, load


def outputs() -> dict[Path, str]:
    api = load()
    files: dict[Path, str] = {}
    for emitter in (emit_openapi, emit_python):
        files.update(emitter.emit(api))
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if any output is stale")
    args = parser.parse_args(argv)
    drift = 0
    files = outputs()
    generated_dirs = {rel.parent for rel in files if "_generated" in rel.parts}
    for folder in sorted(generated_dirs):
        for stale in sorted((ROOT / folder).glob("*.py")):
            if stale.relative_to(ROOT) not in files:
                drift += 1
                if args.check:
                    print(f"drift: {stale.relative_to(ROOT)} is not generated from spec/", file=sys.stderr)
                else:
                    stale.unlink()
                    print(f"removed {stale.relative_to(ROOT)}")
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
