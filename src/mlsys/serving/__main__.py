"""``python -m mlsys.serving``: the uvicorn supervisor of ``MLSYS_SERVE_WORKERS`` workers.

Started by ``python -m mlsys.serve workers=N`` with every setting in ``MLSYS_SERVE_*``.
"""

from __future__ import annotations

from mlsys.serving._workers import supervise

if __name__ == "__main__":
    supervise()
