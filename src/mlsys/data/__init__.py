"""Data sources: load, validate and type labelled conversion data.

``CsvSource`` reads any CSV (``conf/data/csv.yaml``); ``FrameSource`` wraps a DataFrame in
memory; ``generate_leads`` makes the embedded synthetic B2B leads data set;
``check_file_format`` tells a compressed, Parquet or Excel file from CSV text by its bytes.
The value rules (missing markers, booleans, numbers, categories, labels) live in one module,
``mlsys.data._values``, used by training, batch scoring, ``ml-evaluate`` and the REST API.
"""

from __future__ import annotations

from mlsys.data._csv import CsvSource, file_sha256
from mlsys.data._dataset import ColumnKind, Dataset, FeatureSchema
from mlsys.data._formats import FileFormat, check_file_format, sniff_format
from mlsys.data._protocol import DataSource, FrameSource
from mlsys.data._synthetic import LEADS_COLUMNS, LEADS_SEED, generate_leads, write_leads
from mlsys.data._values import (
    FALSE_SPELLINGS,
    MISSING_MARKERS,
    NOT_A_BOOLEAN,
    NOT_A_NUMBER,
    NOT_FINITE,
    TRUE_SPELLINGS,
    LabelMatcher,
    coerce_features,
    csv_field,
    json_column,
    json_problem,
    json_type,
    parse_booleans,
    parse_categories,
    parse_numbers,
)

__all__ = [
    "FALSE_SPELLINGS",
    "LEADS_COLUMNS",
    "LEADS_SEED",
    "MISSING_MARKERS",
    "NOT_A_BOOLEAN",
    "NOT_A_NUMBER",
    "NOT_FINITE",
    "TRUE_SPELLINGS",
    "ColumnKind",
    "CsvSource",
    "DataSource",
    "Dataset",
    "FeatureSchema",
    "FileFormat",
    "FrameSource",
    "LabelMatcher",
    "check_file_format",
    "coerce_features",
    "csv_field",
    "file_sha256",
    "generate_leads",
    "json_column",
    "json_problem",
    "json_type",
    "parse_booleans",
    "parse_categories",
    "parse_numbers",
    "sniff_format",
    "write_leads",
]
