"""System tags MLflow sets on new runs: who, from which source, at which git commit.

Git facts are read from the ``.git`` folder directly (no GitPython, no subprocess), so this stays
cheap and works where git is not installed.
"""

from __future__ import annotations

import getpass
import os
import re
import sys
from pathlib import Path

USER = "mlflow.user"
SOURCE_NAME = "mlflow.source.name"
SOURCE_TYPE = "mlflow.source.type"
GIT_COMMIT = "mlflow.source.git.commit"
GIT_BRANCH = "mlflow.source.git.branch"
GIT_REPO_URL = "mlflow.source.git.repoURL"
RUN_NAME = "mlflow.runName"
PARENT_RUN_ID = "mlflow.parentRunId"
NOTE = "mlflow.note.content"


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _source_path() -> Path | None:
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None) or (sys.argv[0] if sys.argv and sys.argv[0] else None)
    return Path(path).resolve() if path and path not in ("-c", "-") else None


def find_git_dir(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / ".git"
        if candidate.is_dir():
            return candidate
        if candidate.is_file():  # a worktree or submodule: "gitdir: <path>"
            text = candidate.read_text(errors="replace").strip()
            if text.startswith("gitdir:"):
                return (folder / text.split(":", 1)[1].strip()).resolve()
    return None


def _packed_ref(git_dir: Path, ref: str) -> str | None:
    packed = git_dir / "packed-refs"
    if packed.is_file():
        for line in packed.read_text(errors="replace").splitlines():
            parts = line.split(" ", 1)
            if len(parts) == 2 and parts[1] == ref:
                return parts[0]
    return None


def git_facts(git_dir: Path) -> dict[str, str]:
    """Commit, branch and origin URL of a checkout, as far as they can be read."""
    facts: dict[str, str] = {}
    common = git_dir
    commondir = git_dir / "commondir"
    if commondir.is_file():
        common = (git_dir / commondir.read_text().strip()).resolve()
    head_file = git_dir / "HEAD"
    if not head_file.is_file():
        return facts
    head = head_file.read_text(errors="replace").strip()
    if head.startswith("ref:"):
        ref = head.split(":", 1)[1].strip()
        facts[GIT_BRANCH] = ref.removeprefix("refs/heads/")
        for base in (git_dir, common):
            ref_file = base / ref
            if ref_file.is_file():
                facts[GIT_COMMIT] = ref_file.read_text().strip()
                break
        else:
            commit = _packed_ref(common, ref)
            if commit:
                facts[GIT_COMMIT] = commit
    elif re.fullmatch(r"[0-9a-f]{40,64}", head):
        facts[GIT_COMMIT] = head
    config = common / "config"
    if config.is_file():
        section = None
        for raw in config.read_text(errors="replace").splitlines():
            line = raw.strip()
            if line.startswith("["):
                section = line
            elif section == '[remote "origin"]' and line.replace(" ", "").startswith("url="):
                facts[GIT_REPO_URL] = line.split("=", 1)[1].strip()
                break
    return facts


def system_tags() -> dict[str, str]:
    """The tags MLflow's fluent API puts on a run it creates from a local script."""
    tags = {USER: _user(), SOURCE_TYPE: "LOCAL"}
    source = _source_path()
    if source is not None:
        tags[SOURCE_NAME] = str(source)
        git_dir = find_git_dir(source.parent)
    else:
        tags[SOURCE_NAME] = "<console>"
        git_dir = find_git_dir(Path(os.getcwd()))
    if git_dir is not None:
        tags.update(git_facts(git_dir))
    return tags
