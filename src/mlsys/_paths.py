"""Where the project lives: one answer for config, the embedded stores and provenance.

Kept free of heavy imports so that the server and the registry CLI can ask without loading Hydra.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

__all__ = ["git_sha", "project_root"]


def project_root() -> Path:
    """``MLSYS_PROJECT_ROOT``, else the checkout this package was installed from (editable)."""
    override = os.environ.get("MLSYS_PROJECT_ROOT")
    if override:
        return Path(override).resolve()
    # src/mlsys/_paths.py -> repository root.
    return Path(__file__).resolve().parents[2]


def git_sha() -> str | None:
    """The commit of the code that ran: ``MLSYS_GIT_SHA`` (set by images), else git, else None."""
    pinned = os.environ.get("MLSYS_GIT_SHA")
    if pinned:
        return pinned
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None
