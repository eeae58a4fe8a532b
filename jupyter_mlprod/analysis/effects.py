"""Outside effects: whether a statement writes a file or logs a run, an effect on the world
outside the program that the predict stage leaves out (a submission CSV, a saved figure, a
metrics log). Pure readings of one statement's code.
"""

from __future__ import annotations

import libcst as cst

from .statements import Statement, callee_name

# Methods and functions that write a file when given where to write it.
FILE_WRITERS = frozenset(
    {
        "to_csv", "to_parquet", "to_excel", "to_json", "to_pickle", "to_feather", "to_hdf",
        "to_sql", "to_stata", "to_html", "to_latex", "to_xml", "to_markdown", "savefig",
        "save", "savez", "savez_compressed", "savetxt", "dump", "write_text", "write_bytes",
        "save_model", "save_weights", "save_pretrained", "push_to_hub", "mkdir", "makedirs",
        "copyfile", "copy2", "rmtree", "unlink",
    }
)  # fmt: skip
# Calls that record a run somewhere (experiment trackers, reports on disk).
RUN_LOGGERS = frozenset(
    {"log_metric", "log_metrics", "log_param", "log_params", "log_artifact", "log_model",
     "log_dict", "log_figure", "log_table", "log_text", "log_image"}
)  # fmt: skip
# `to_csv()`-style methods return text when no destination is given.
_TEXT_WHEN_NO_DESTINATION = frozenset(name for name in FILE_WRITERS if name.startswith("to_")) | {
    "dump"
}
_DESTINATION_KEYWORDS = frozenset(
    {"path", "path_or_buf", "excel_writer", "fname", "buf", "file", "fp", "con", "name"}
)
_WRITE_MODES = ("w", "a", "x", "+")


def outside_effect(statement: Statement) -> str | None:
    """What the statement does outside the program, or None.

    Returns:
        ``"writes a file"``, ``"logs the run"``, or None when the statement only computes.
    """
    finder = _EffectFinder()
    statement.node.visit(finder)
    return finder.found


class _EffectFinder(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found: str | None = None

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False  # a body runs when called, not here

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Call(self, call: cst.Call) -> None:
        if self.found is not None:
            return
        name = callee_name(call)
        if name is None:
            return
        if name == "open" and _opens_for_writing(call):
            self.found = "writes a file"
        elif name in FILE_WRITERS and (
            name not in _TEXT_WHEN_NO_DESTINATION or _has_destination(call)
        ):
            self.found = "writes a file"
        elif name in RUN_LOGGERS:
            self.found = "logs the run"


def _has_destination(call: cst.Call) -> bool:
    return any(
        arg.keyword is None or arg.keyword.value in _DESTINATION_KEYWORDS
        for arg in call.args
        if arg.star == ""
    )


def _opens_for_writing(call: cst.Call) -> bool:
    mode: cst.BaseExpression | None = None
    positional = [arg for arg in call.args if arg.keyword is None and arg.star == ""]
    if len(positional) >= 2:
        mode = positional[1].value
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "mode":
            mode = arg.value
    if not isinstance(mode, cst.SimpleString):
        return False
    text = mode.evaluated_value
    return isinstance(text, str) and any(flag in text for flag in _WRITE_MODES)
