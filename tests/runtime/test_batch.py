"""Batch output files: the fast CSV path writes exactly what pandas would."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def batch(package_src: Path) -> ModuleType:
    import fakepkg.batch

    return fakepkg.batch


FRAMES = {
    "labels": pd.DataFrame({"y_pred": np.array([0, 1, 1, 0] * 50)}),
    "wide integer columns": pd.DataFrame(
        {
            "a,b": np.array([-(2**63), 2**63 - 1], dtype=np.int64),
            'q"x': np.array([0, 2**64 - 1], dtype=np.uint64),
            "small": np.array([-3, 7], dtype=np.int8),
        }
    ),
    "no rows": pd.DataFrame({"y_pred": np.array([], dtype=np.int64)}),
    "floats": pd.DataFrame({"p": [0.1, 100.0, np.nan, 1e-05, 2.0**53]}),
    "booleans": pd.DataFrame({"flag": [True, False]}),
    "nullable integers": pd.DataFrame({"n": pd.array([1, None], dtype="Int64")}),
    "strings": pd.DataFrame({"s": ["a", "b,c", 'd"e', None, ""]}),
    "mixed": pd.DataFrame({"y_pred": [1, 2], "p": [0.5, 0.25]}),
}


@pytest.mark.parametrize("name", FRAMES)
def test_csv_output_is_byte_identical_to_pandas(
    batch: ModuleType, tmp_path: Path, name: str
) -> None:
    frame = FRAMES[name]
    frame.to_csv(tmp_path / "pandas.csv", index=False)
    written = batch.write_output(tmp_path / "out.csv", frame, "y_pred", len(frame))
    assert written.read_bytes() == (tmp_path / "pandas.csv").read_bytes()
    # Nothing else left behind: the temporary file was renamed over the target.
    assert {p.name for p in tmp_path.iterdir()} == {"pandas.csv", "out.csv"}


def test_integer_predictions_round_trip(batch: ModuleType, tmp_path: Path) -> None:
    labels = np.arange(-500, 500)
    batch.write_output(tmp_path / "out.csv", labels, "label", len(labels))
    assert pd.read_csv(tmp_path / "out.csv")["label"].tolist() == labels.tolist()


def test_csv_text_columns_of_digits_are_read_as_text(batch: ModuleType, tmp_path: Path) -> None:
    """A column recorded as text whose values in this file are all digits (zip codes) is read
    as text, leading zeros kept, so it passes the schema; inferred, it became int64 and the
    single-process ``predict`` refused the file (found by Dask's per-partition reads)."""
    import fakepkg.schema

    schema = {
        "kind": "dataframe",
        "columns": [
            {"name": "zip", "dtype": "str", "nullable": True},
            {"name": "n", "dtype": "int64", "nullable": False},
        ],
    }
    (tmp_path / "in.csv").write_text("zip,n\n01234,1\n99501,2\n,3\n", encoding="utf-8")
    frame = fakepkg.schema.conform(batch.read_input(tmp_path / "in.csv", schema), schema)
    assert frame["zip"].tolist()[:2] == ["01234", "99501"] and pd.isna(frame["zip"].iloc[2])
    assert frame["n"].dtype == np.int64
    # A file without the text column (a schema error later) is still read, not refused here.
    (tmp_path / "other.csv").write_text("n\n1\n", encoding="utf-8")
    assert list(batch.read_input(tmp_path / "other.csv", schema).columns) == ["n"]
