"""``python -m mlsys.data``: regenerate ``data/leads.csv`` byte for byte."""

from __future__ import annotations

from mlsys.data._synthetic import main

if __name__ == "__main__":
    raise SystemExit(main())
