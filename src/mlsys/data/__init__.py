"""Data sources: load, validate and type labelled conversion data.

``CsvSource`` reads any CSV (``conf/data/csv.yaml``); ``FrameSource`` wraps a DataFrame in
memory; ``generate_leads`` makes the embedded synthetic B2B leads data set;
``check_file_format`` tells a compressed, Parquet or Excel file from CSV text by its bytes.
"""

from __future__ import annotations

from mlsys.data._csv import CsvSource, coerce_features, file_sha256
from mlsys.data._dataset import ColumnKind, Dataset, FeatureSchema
from mlsys.data._formats import FileFormat, check_file_format, sniff_format
from mlsys.data._protocol import DataSource, FrameSource
from mlsys.data._synthetic import LEADS_COLUMNS, LEADS_SEED, generate_leads, write_leads

__all__ = [
    "LEADS_COLUMNS",
    "LEADS_SEED",
    "ColumnKind",
    "CsvSource",
    "DataSource",
    "Dataset",
    "FeatureSchema",
    "FileFormat",
    "FrameSource",
    "check_file_format",
    "coerce_features",
    "file_sha256",
    "generate_leads",
    "sniff_format",
    "write_leads",
]
