"""``predict --engine dask`` on one big file: cut into partitions while reading (input_splits.py).

The fast tests check the cuts and the pieces without a cluster: every piece, conformed, equals
the same rows of the single-process read, whatever the cut (Parquet row groups, CSV lines,
quoted line breaks). The slow ones run the fake churn package on the two-process
LocalCluster of test_dask.py: one Parquet file and one CSV file become several partitions
whose part files, put together, are the single-process output byte for byte; a text column
of digit strings keeps its leading zeros; a bad row names its file and lines.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from jupyter_mlprod.runtime import input_splits
from jupyter_mlprod.runtime.batch import read_input
from jupyter_mlprod.runtime.schema import Schema, conform, infer_schema

from .conftest import Workspace, train, write_churn_csv
from .test_dask import scheduler  # noqa: F401 - the shared two-process cluster fixture


def _table(rows: int = 2000, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, rows),
            "income": rng.normal(50_000, 15_000, rows),
            # Delimiters, doubled quotes and line breaks inside quoted fields.
            "plan": rng.choice(["basic", "plus, yearly", 'the "pro"', "two\nlines"], rows),
        }
    )


def _pieces(plan: input_splits.Plan) -> list[input_splits.Piece]:
    return [piece for partition in plan.partitions for piece in partition]


def _conformed(plan: input_splits.Plan, schema: Schema) -> pd.DataFrame:
    parts = [conform(input_splits.read_piece(p, schema), schema) for p in _pieces(plan)]
    return pd.concat(parts)


# --- the cuts and the pieces, without a cluster ---------------------------------------------


def test_parquet_row_groups_grouped_up_to_the_blocksize(tmp_path: Path) -> None:
    frame = _table()
    path = tmp_path / "big.parquet"
    frame.to_parquet(path, index=False, row_group_size=250)
    schema = infer_schema(frame)
    group_bytes = input_splits._parquet_layout(path, "big.parquet").bounds[1]

    one_each = input_splits.plan([path], ["big.parquet"], schema, blocksize=1)
    assert [[(p.start, p.stop) for p in part] for part in one_each.partitions] == [
        [(g, g + 1)] for g in range(8)
    ]
    pairs = input_splits.plan([path], ["big.parquet"], schema, blocksize=2 * group_bytes + 1)
    assert [part[0].stop - part[0].start for part in pairs.partitions] == [2, 2, 2, 2]
    assert (
        input_splits.describe(pairs.partitions[1][0])
        == "big.parquet rows 501-1000 (row groups 3-4 of 8)"
    )
    # Row labels too: each piece holds the labels its rows have in the whole file.
    pd.testing.assert_frame_equal(
        pd.concat(input_splits.read_piece(p, schema) for p in _pieces(pairs)),
        pd.read_parquet(path),
    )
    whole = input_splits.plan([path], ["big.parquet"], schema)
    assert len(whole.partitions) == 1 and whole.partitions[0][0].whole
    # Weighed by memory: 250 rows of 100 bytes a row group, four of them in 100,000 bytes.
    by_memory = input_splits.plan(
        [path], ["big.parquet"], schema, blocksize=100_000, row_bytes=100.0
    )
    assert [(part[0].start, part[0].stop) for part in by_memory.partitions] == [(0, 4), (4, 8)]


def test_parquet_piece_keeps_a_stored_index_and_the_whole_file_dtypes(tmp_path: Path) -> None:
    frame = _table(300).assign(
        when=pd.date_range("2024-01-01", periods=300, freq="h", tz="Europe/Paris"),
        kind=lambda f: pd.Categorical(f["plan"]),
    )
    frame.index = pd.Index([f"r{i}" for i in range(300)], name="key")
    path = tmp_path / "x.parquet"
    frame.to_parquet(path, row_group_size=64)
    plan = input_splits.plan([path], ["x.parquet"], infer_schema(frame), partitions=3)
    pieces = [input_splits.read_piece(p, infer_schema(frame)) for p in _pieces(plan)]
    single = pd.read_parquet(path)
    assert all(dict(p.dtypes.drop("kind")) == dict(single.dtypes.drop("kind")) for p in pieces)
    got = pd.concat(pieces)
    got["kind"] = got["kind"].astype(single["kind"].dtype)
    pd.testing.assert_frame_equal(got, single)


@pytest.mark.parametrize(("blocksize", "partitions"), [(4096, None), (None, 9), (None, 1)])
def test_csv_cut_at_row_ends_outside_quotes_equals_the_whole_read(
    tmp_path: Path, blocksize: int | None, partitions: int | None
) -> None:
    frame = _table()
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    schema = infer_schema(frame)
    plan = input_splits.plan(
        [path], ["big.csv"], schema, blocksize=blocksize, partitions=partitions
    )
    assert plan.notes == ()
    if partitions is not None:
        assert len(plan.partitions) == partitions
    else:
        assert len(plan.partitions) == -(-path.stat().st_size // 4096)
    whole = conform(read_input(path, schema), schema)
    pd.testing.assert_frame_equal(_conformed(plan, schema).reset_index(drop=True), whole)
    # Every cut is a row start: the bytes before it hold an even number of quotes.
    data = path.read_bytes()
    for piece in _pieces(plan):
        assert data[piece.start - 1 : piece.start] == b"\n"
        assert data[: piece.start].count(b'"') % 2 == 0


def test_a_stray_quote_keeps_the_csv_whole_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("age,plan\n" + "30,basic\n" * 500 + '31,6" pipe\n' + "32,pro\n" * 500)
    schema = infer_schema(pd.DataFrame({"age": [1], "plan": ["x"]}))
    plan = input_splits.plan([path], ["odd.csv"], schema, blocksize=1000)
    assert len(plan.partitions) == 1 and plan.partitions[0][0].whole
    (note,) = plan.notes
    assert note.startswith("odd.csv: a quote character inside an unquoted field on line 502;")


def test_partitions_spread_over_files_and_small_files_share(tmp_path: Path) -> None:
    frame = _table(1200)
    schema = infer_schema(frame)
    csvs, parquets = [], []
    for number, rows in enumerate(np.array_split(np.arange(1200), 6)):
        csvs.append(tmp_path / f"in-{number}.csv")
        frame.iloc[rows].to_csv(csvs[-1], index=False)
        parquets.append(tmp_path / f"in-{number}.parquet")
        frame.iloc[rows].to_parquet(parquets[-1], index=False)
    labels = [p.name for p in parquets]
    # By blocksize: each file its own partitions, never shared.
    by_size = input_splits.plan(parquets, labels, schema)
    assert [[p.label for p in part] for part in by_size.partitions] == [[n] for n in labels]
    # Two partitions over six one-row-group files: three whole files each.
    two = input_splits.plan(parquets, labels, schema, partitions=2)
    assert [[p.label for p in part] for part in two.partitions] == [labels[:3], labels[3:]]
    # CSV files are cut by lines, so the middle may fall inside a file.
    csv_two = input_splits.plan(csvs, [p.name for p in csvs], schema, partitions=2)
    assert len(csv_two.partitions) == 2
    assert sum(len(part) for part in csv_two.partitions) in (6, 7)
    expected = pd.concat(conform(read_input(p, schema), schema) for p in csvs)
    pd.testing.assert_frame_equal(
        _conformed(csv_two, schema).reset_index(drop=True), expected.reset_index(drop=True)
    )


def test_text_columns_of_digits_stay_text_in_every_piece(tmp_path: Path) -> None:
    zips = [f"{n:05d}" for n in range(0, 60_000, 30)]
    frame = pd.DataFrame({"zip": ["K1A 0B1", *zips], "n": range(len(zips) + 1)})
    path = tmp_path / "zips.csv"
    frame.to_csv(path, index=False)
    schema = infer_schema(frame.astype({"zip": "str"}))
    plan = input_splits.plan([path], ["zips.csv"], schema, blocksize=2048)
    assert len(plan.partitions) > 3
    # The whole file is text (one row is not a number), so its zeros survive; so do a
    # piece's, though its rows hold only digits.
    whole = conform(read_input(path, schema), schema)
    assert whole["zip"].iloc[1] == "00000"
    pd.testing.assert_frame_equal(_conformed(plan, schema).reset_index(drop=True), whole)


def test_a_csv_piece_error_names_its_lines(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    lines = ["age,plan", *(f"{20 + n % 50},basic" for n in range(999))]
    lines[700] = "70,basic,extra"
    path.write_text("\n".join(lines) + "\n")
    schema = infer_schema(pd.DataFrame({"age": [1], "plan": ["x"]}))
    plan = input_splits.plan([path], ["big.csv"], schema, blocksize=2000)
    failing = next(p for p in _pieces(plan) if p.start <= len("\n".join(lines[:700])) < p.stop)
    with pytest.raises(input_splits.InputError) as raised:
        input_splits.read_piece(failing, schema)
    where = input_splits.describe(failing)
    assert where.startswith("big.csv lines ")
    first, last = map(int, where.removeprefix("big.csv lines ").split("-"))
    assert first <= 701 <= last
    assert str(raised.value) == (
        f"{where}: cannot read csv input (Error tokenizing data. C error: Expected 2 fields "
        "in line 701, saw 3)"
    )


def test_a_block_size_making_too_many_partitions_fails_before_cutting(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text("age\n" + "30\n" * 60_000)
    schema = infer_schema(pd.DataFrame({"age": [1]}))
    with pytest.raises(input_splits.InputError) as raised:
        input_splits.plan([path], ["big.csv"], schema, blocksize=1)
    assert str(raised.value) == (
        "big.csv: that block size makes 180000 partitions of this file (at most 100000); "
        "give a larger --blocksize"
    )


# --- flags ----------------------------------------------------------------------------------


def test_blocksize_needs_the_dask_engine_and_excludes_partitions(
    fakepkg_cli: ModuleType, churn_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["predict", "--input", "data/churn.csv", "--output", "out"]
    with pytest.raises(SystemExit) as exited:
        fakepkg_cli.main([*base, "--blocksize", "64MiB"])
    assert exited.value.code == 2
    assert "--blocksize needs --engine dask" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        fakepkg_cli.main([*base, "--engine", "dask", "--blocksize", "1MiB", "--partitions", "2"])
    assert exited.value.code == 2
    assert "give --partitions or --blocksize, not both" in capsys.readouterr().err


def test_a_bad_blocksize_is_one_line(
    fakepkg_cli: ModuleType, churn_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = fakepkg_cli.main(
        ["predict", "--engine", "dask", "--input", "data/churn.csv", "--output", "out"]
        + ["--blocksize", "lots"]
    )
    assert code == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        "fakepkg: error: --blocksize lots: not a size; give bytes such as 64MiB or 500MB"
    ]


# --- on the two-process LocalCluster ----------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _glued(parts: list[Path]) -> bytes:
    """CSV part files as one file: the first header, then every part's rows."""
    header = parts[0].read_bytes().partition(b"\n")[0]
    bodies = [p.read_bytes().partition(b"\n") for p in parts]
    assert all(head == header for head, _, _ in bodies)
    return header + b"\n" + b"".join(body for _, _, body in bodies)


def _features(workspace: Workspace, rows: int) -> pd.DataFrame:
    frame = write_churn_csv(workspace.root / "big" / "source.csv", n_rows=rows, seed=11)
    return frame.drop(columns=["churn"])


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_one_big_file_in_several_partitions_gives_the_single_process_bytes(
    fakepkg_cli: ModuleType,
    churn_store: Path,
    workspace: Workspace,
    scheduler: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    suffix: str,
) -> None:
    features = _features(workspace, 3000)
    big = workspace.root / f"big{suffix}"
    if suffix == ".csv":
        features.to_csv(big, index=False)
    else:
        features.to_parquet(big, index=False, row_group_size=500)
    assert fakepkg_cli.main(["predict", "--input", str(big), "--output", "single.csv"]) == 0
    capsys.readouterr()

    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    code = fakepkg_cli.main(
        ["predict", "--engine", "dask", "--scheduler", scheduler, "--input", big.name]
        + ["--output", "out", "--output-format", "csv", "--blocksize", "16KiB"]
    )
    shown = terminal.getvalue()
    assert code == 0, shown
    parts = sorted((workspace.root / "out").iterdir())
    assert len(parts) >= 3
    assert [p.name for p in parts] == [f"part-{i:05d}.csv" for i in range(len(parts))]
    assert f"predict {len(parts)}/{len(parts)} partitions (100%)" in shown
    assert f"3000 predictions from v1 written to out ({len(parts)} part files)" in shown
    assert _glued(parts) == (workspace.root / "single.csv").read_bytes()


@pytest.mark.slow
def test_digit_strings_keep_their_leading_zeros_across_partitions(
    fakepkg_cli: ModuleType,
    workspace: Workspace,
    scheduler: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Plans coded as digit strings, one of them not a number, so pandas reads the column as
    # text and the model learns "001" and "002" as categories.
    frame = write_churn_csv(workspace.root / "data" / "coded.csv", n_rows=600, seed=2)
    codes = {"basic": "001", "plus": "002", "pro": "P03"}
    frame["plan"] = frame["plan"].map(codes)
    frame.to_csv(workspace.root / "data" / "coded.csv", index=False)
    train(fakepkg_cli, capsys, "--param", "data_path=data/coded.csv")
    # The "P03" rows first: every later partition holds only digit strings.
    features = frame.drop(columns=["churn"]).sort_values("plan", ascending=False, kind="stable")
    features.to_csv("coded-in.csv", index=False)
    assert features["plan"].iloc[-1] == "001"
    assert fakepkg_cli.main(["predict", "--input", "coded-in.csv", "--output", "single.csv"]) == 0
    code = fakepkg_cli.main(
        ["predict", "--engine", "dask", "--scheduler", scheduler, "--input", "coded-in.csv"]
        + ["--output", "out", "--partitions", "4"]
    )
    assert code == 0, capsys.readouterr().err
    parts = sorted((workspace.root / "out").iterdir())
    assert len(parts) == 4
    assert _glued(parts) == (workspace.root / "single.csv").read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_bad_row_in_the_third_partition_names_the_file_and_where(
    fakepkg_cli: ModuleType,
    churn_store: Path,
    workspace: Workspace,
    scheduler: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    suffix: str,
) -> None:
    features = _features(workspace, 1000).astype({"age": "object"})
    features.loc[450, "age"] = "old"  # rows 401-600 (from 1) are the third of five partitions
    big = workspace.root / f"big{suffix}"
    if suffix == ".csv":
        features.to_csv(big, index=False)
        args = ["--partitions", "5"]
    else:
        features.astype({"age": "str"}).to_parquet(big, index=False, row_group_size=200)
        args = ["--blocksize", "1"]
    code = fakepkg_cli.main(
        ["predict", "--engine", "dask", "--scheduler", scheduler, "--input", big.name]
        + ["--output", "out", *args]
    )
    assert code == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    if suffix == ".parquet":
        where = "big.parquet rows 401-600 (row group 3 of 5)"
    else:
        prefix = "fakepkg: error: big.csv lines "
        assert lines[0].startswith(prefix)
        first, last = map(int, lines[0].removeprefix(prefix).partition(":")[0].split("-"))
        assert first <= 452 <= last  # the header is line 1, so row 450 (from 0) is line 452
        assert first > 1 and last < 1001  # a piece, not the whole file
        where = f"big.csv lines {first}-{last}"
    assert lines[0] == f"fakepkg: error: {where}: input column 'age': expected int64, got text"
    # The single-process line, with the piece's place in the file added.
    assert fakepkg_cli.main(["predict", "--input", big.name, "--output", "p.csv"]) == 1
    single = capsys.readouterr().err.strip()
    assert single == lines[0].replace(f"{where}:", f"{big.name}:", 1)
    assert not (workspace.root / "out").exists()
    assert not [p for p in workspace.root.iterdir() if p.name.startswith(".out")]


@pytest.mark.slow
def test_split_file_through_a_subprocess(
    churn_store: Path,
    workspace: Workspace,
    scheduler: str,  # noqa: F811
) -> None:
    features = _features(workspace, 2000)
    features.to_parquet(workspace.root / "big.parquet", index=False, row_group_size=400)
    workspace.run("predict", "--input", "big.parquet", "--output", "single.parquet", check=True)
    done = workspace.run(
        "predict",
        "--engine",
        "dask",
        "--scheduler",
        scheduler,
        "--input",
        "big.parquet",
        "--output",
        "out",
        "--blocksize",
        "1",
        check=True,
    )
    assert done.stderr.strip().splitlines() == [
        "2000 predictions from v1 written to out (5 part files)"
    ]
    parts = sorted((workspace.root / "out").iterdir())
    got = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    pd.testing.assert_frame_equal(got, pd.read_parquet(workspace.root / "single.parquet"))


@pytest.mark.slow
@pytest.mark.parametrize("stray", [False, True])
def test_quoted_csv_split_outside_quotes_or_kept_whole_with_a_note(
    fakepkg_cli: ModuleType,
    churn_store: Path,
    workspace: Workspace,
    scheduler: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    stray: bool,
) -> None:
    features = _features(workspace, 1200)
    # Quoted fields with delimiters, doubled quotes and line breaks (unknown plans: ignored).
    features.loc[::7, "plan"] = 'the "pro",\nyearly'
    features.to_csv("quoted.csv", index=False)
    if stray:
        text = Path("quoted.csv").read_text()
        # A quote inside an unquoted field: pandas reads it as a character.
        Path("quoted.csv").write_text(text.replace(",basic\n", ',ba"sic\n', 1))
    assert fakepkg_cli.main(["predict", "--input", "quoted.csv", "--output", "single.csv"]) == 0
    capsys.readouterr()
    code = fakepkg_cli.main(
        ["predict", "--engine", "dask", "--scheduler", scheduler, "--input", "quoted.csv"]
        + ["--output", "out", "--partitions", "3"]
    )
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 0, lines
    parts = sorted((workspace.root / "out").iterdir())
    assert _glued(parts) == (workspace.root / "single.csv").read_bytes()
    if stray:
        assert len(parts) == 1
        assert lines[0].startswith(
            "fakepkg: note: quoted.csv: a quote character inside an unquoted field on line "
        )
        assert lines[1:] == ["1200 predictions from v1 written to out (1 part file)"]
    else:
        assert len(parts) == 3
        assert lines == ["1200 predictions from v1 written to out (3 part files)"]
