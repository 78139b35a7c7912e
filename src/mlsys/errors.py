"""Errors raised by mlsys.

Every error a user can cause derives from :class:`MlsysError` and also from the built-in it
resembles, so ``except ValueError`` keeps working for callers that do not know mlsys::

    MlsysError
    ├── ConfigError(ValueError)        a config key has a wrong value, type or target
    ├── DataError(ValueError)          a data file is missing, empty or malformed
    │   └── SchemaError                columns or target do not match what is expected
    ├── ModelError(RuntimeError)       a model cannot be fitted, saved or loaded
    │   └── BundleError                a model bundle file is missing, corrupt or incompatible
    ├── OutputError(OSError)           an output file or directory cannot be written
    └── TrackingError(RuntimeError)    the experiment tracker cannot record a run

Messages name the field, the offending value and the fix, so the CLI can print them as they are.
"""

from __future__ import annotations

__all__ = [
    "BundleError",
    "ConfigError",
    "DataError",
    "MlsysError",
    "ModelError",
    "OutputError",
    "SchemaError",
    "TrackingError",
]


class MlsysError(Exception):
    """Root of every error mlsys raises on purpose."""


class ConfigError(MlsysError, ValueError):
    """A config value is wrong: unknown key, wrong type, forbidden target, bad combination."""


class DataError(MlsysError, ValueError):
    """A data file is missing, empty, unreadable or unusable for training."""


class SchemaError(DataError):
    """Columns or the target do not match what the config or the model expects."""


class ModelError(MlsysError, RuntimeError):
    """A model cannot be fitted or used."""


class BundleError(ModelError):
    """A model bundle file is missing, corrupt or written by an incompatible version."""


class OutputError(MlsysError, OSError):
    """An output cannot be written: a file in the way, a read-only place, a full disk."""


class TrackingError(MlsysError, RuntimeError):
    """The experiment tracker failed to record a run."""
