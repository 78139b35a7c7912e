"""The model bundle as an MLflow pyfunc model, for ``mlflow models serve`` and Spark UDFs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.pyfunc.model import PythonModel

from mlsys.models import ModelBundle, read_checksum

__all__ = ["BundlePyfuncModel"]


class BundlePyfuncModel(PythonModel):
    """Loads ``model.joblib`` from the model's artifacts; predicts probability and decision."""

    def load_context(self, context: Any) -> None:
        """Load the bundle once per process, checked against its sha256 when it was logged."""
        checksum = context.artifacts.get("bundle_sha256")
        expected = read_checksum(Path(checksum)) if checksum else None
        self.bundle = ModelBundle.load(context.artifacts["bundle"], sha256=expected)

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        """Calibrated probability and decision per row."""
        return self.score(self.bundle, model_input)

    @staticmethod
    def score(bundle: ModelBundle, frame: pd.DataFrame) -> pd.DataFrame:
        """``probability`` (:meth:`ModelBundle.score`) and ``decision`` columns."""
        probability = bundle.score(frame)
        return pd.DataFrame({"probability": probability, "decision": bundle.decide(probability)})
