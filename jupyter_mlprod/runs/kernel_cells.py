"""Sources of the bookkeeping cells a run adds around the user's notebook.

They run inside the kernel, which may be another Python environment than this tool's, so
they import nothing from ``jupyter_mlprod`` (the prelude carries the text of
``runtime/seeding.py`` instead) and keep their helpers out of the user's namespace
(defined, called, deleted). Each is tagged :data:`HIDDEN_TAG` and removed from
the executed notebook that the run directory keeps, so cell indices match the original.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

import nbformat

from ..runtime import read_file

HIDDEN_TAG = "mlprod-hidden"
KERNEL_INFO_NAME = "kernel.json"
VALUES_NAME = "values.json"

_PRELUDE = """\
def __mlprod_prelude(run_dir, seed, seeding_source):
    import json, os, platform, sys
    info = {
        "executable": sys.executable,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
    }
    if seed is not None:
        import importlib.util
        if importlib.util.find_spec("torch") is not None:
            # A package's `train` imports its pipeline (torch with it) before seeding; here no
            # cell has run yet, so load torch now for seed_everything to find and seed it.
            import torch
        # The package's own seeding.py, run in a namespace of its own: the same generators,
        # order and environment as `train --seed`, and nothing left in the user's namespace.
        seeding = {"__name__": "__mlprod_seeding"}
        exec(compile(seeding_source, "seeding.py", "exec"), seeding)
        info["seeded"] = seeding["seed_everything"](seed)
    with open(os.path.join(run_dir, @INFO_NAME@), "w", encoding="utf-8") as stream:
        json.dump(info, stream)
__mlprod_prelude(@RUN_DIR@, @SEED@, @SEEDING_SOURCE@)
del __mlprod_prelude
"""

_DUMP = """\
def __mlprod_dump(names, run_dir, namespace):
    import hashlib, json, os, pickle, sys
    # A value can only be a DataFrame or an ndarray if its library is loaded already;
    # importing pandas just to find out would cost more than the rest of the cell.
    np = sys.modules.get("numpy")
    pd = sys.modules.get("pandas")

    def array_digest(array):
        header = (array.dtype.str + repr(array.shape)).encode()
        if array.dtype.hasobject:
            return hashlib.sha256(header + pickle.dumps(array.tolist(), protocol=4)).hexdigest()
        return hashlib.sha256(header + np.ascontiguousarray(array).tobytes()).hexdigest()

    def frame_digest(frame):
        rows = pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes()
        header = repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode()
        return hashlib.sha256(header + rows).hexdigest()

    def save(value, stem):
        if pd is not None and isinstance(value, (pd.DataFrame, pd.Series)):
            kind = "dataframe" if isinstance(value, pd.DataFrame) else "series"
            frame = value if kind == "dataframe" else value.to_frame(
                name=str(value.name) if value.name is not None else "prediction")
            try:
                digest = frame_digest(frame)
            except TypeError:
                digest = hashlib.sha256(pickle.dumps(frame, protocol=4)).hexdigest()
            try:
                frame.to_parquet(stem + ".parquet")
                return kind, stem + ".parquet", digest
            except Exception:  # unnamed/odd columns or no parquet engine: keep a pickle
                pass
        elif np is not None and isinstance(value, (np.ndarray, list, tuple)):
            array = np.asarray(value) if not isinstance(value, np.ndarray) else value
            kind = "ndarray" if isinstance(value, np.ndarray) else type(value).__name__
            if not array.dtype.hasobject:
                np.save(stem + ".npy", array, allow_pickle=False)
                return kind, stem + ".npy", array_digest(array)
        else:
            kind = type(value).__name__
        data = pickle.dumps(value, protocol=4)
        with open(stem + ".pkl", "wb") as stream:
            stream.write(data)
        return kind, stem + ".pkl", hashlib.sha256(data).hexdigest()

    missing = object()
    # The predict input as it was before predict code changed it in place (snapshot cell).
    snapshot = namespace.pop(@SNAPSHOT_NAME@, missing)
    values = {}
    for role, (label, name, column) in names.items():
        entry = {"name": label}
        value = missing
        if role == "input" and snapshot is not missing:
            value = snapshot
        elif name not in namespace:
            entry["error"] = "not defined after the run"
        elif column is None:
            value = namespace[name]
        else:
            try:
                value = namespace[name][column]
            except Exception as exc:
                entry["error"] = type(exc).__name__ + ": " + str(exc)
        if value is not missing:
            entry["type"] = type(value).__module__ + "." + type(value).__qualname__
            try:
                kind, path, digest = save(value, os.path.join(run_dir, "predict_" + role))
            except Exception as exc:
                entry["error"] = type(exc).__name__ + ": " + str(exc)
            else:
                entry.update(kind=kind, file=os.path.basename(path), sha256=digest)
        values[role] = entry
    with open(os.path.join(run_dir, @VALUES_NAME@), "w", encoding="utf-8") as stream:
        json.dump(values, stream)
__mlprod_dump(@NAMES@, @RUN_DIR@, globals())
del __mlprod_dump
"""


_SNAPSHOT = """\
def __mlprod_snapshot(name, namespace):
    import copy
    if name in namespace:
        namespace[@SNAPSHOT_NAME@] = copy.deepcopy(namespace[name])
__mlprod_snapshot(@NAME@, globals())
del __mlprod_snapshot
"""
# Where the snapshot waits for the dump cell (which removes it).
_SNAPSHOT_NAME = "__mlprod_predict_input"


def prelude_cell(run_dir: str, seed: int | None) -> nbformat.NotebookNode:
    """The first cell: record the kernel's interpreter, and seed the generators if asked.

    Seeding runs the source of ``runtime/seeding.py`` (what a generated package's ``train``
    calls), so a run and a package seed exactly the same way.
    """
    return _hidden(
        _fill(
            _PRELUDE,
            INFO_NAME=KERNEL_INFO_NAME,
            RUN_DIR=run_dir,
            SEED=seed,
            SEEDING_SOURCE=read_file("seeding.py"),
        ),
    )


def snapshot_cell(name: str) -> nbformat.NotebookNode:
    """A cell run just before the predict code: keep a copy of the predict input ``name``.

    Predict code that changes its input in place (``df["pred"] = model.predict(df)``) would
    otherwise leave the dump cell only the changed input, not the one predict was given.
    """
    return _hidden(_fill(_SNAPSHOT, SNAPSHOT_NAME=_SNAPSHOT_NAME, NAME=name))


def dump_cell(run_dir: str, names: Mapping[str, str]) -> nbformat.NotebookNode:
    """The last cell: save the named values (``{"output": "y_pred", ...}``) with hashes.

    A value may be a column of a variable, written ``df["pred"]``; the predict input is the
    snapshot :func:`snapshot_cell` took, when one ran.
    """
    targets = {role: (expression, *split_column(expression)) for role, expression in names.items()}
    return _hidden(
        _fill(
            _DUMP,
            VALUES_NAME=VALUES_NAME,
            RUN_DIR=run_dir,
            NAMES=targets,
            SNAPSHOT_NAME=_SNAPSHOT_NAME,
        )
    )


def split_column(expression: str) -> tuple[str, str | None]:
    """``df["pred"]`` → ``("df", "pred")``; a plain name → ``(name, None)``."""
    try:
        tree = ast.parse(expression, mode="eval").body
    except SyntaxError:
        return expression, None
    if (
        isinstance(tree, ast.Subscript)
        and isinstance(tree.value, ast.Name)
        and isinstance(tree.slice, ast.Constant)
        and isinstance(tree.slice.value, str)
    ):
        return tree.value.id, tree.slice.value
    return expression, None


def _fill(template: str, **values: object) -> str:
    # str.format would trip over the braces of the dict literals in the templates.
    for key, value in values.items():
        template = template.replace(f"@{key}@", repr(value))
    return template


def _hidden(source: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = [HIDDEN_TAG]
    cell.metadata["jupyter"] = {"source_hidden": True}
    return cell
