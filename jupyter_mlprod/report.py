"""The ``check`` report: the analysis as versioned JSON (for tools and the lab extension) and
as text (for people). See docs/ARCHITECTURE.md for the schema.

Cells are counted two ways: JSON's ``cell`` is the 0-based index into the notebook's cells (as
nbformat and the lab's models count), and every such field has a 1-based ``cell_number`` beside
it, the number JupyterLab's status bar and people use ("Cell 19/24"). Text shows numbers only.
"""

from __future__ import annotations

from typing import Any

from . import roles
from .analysis import Analysis
from .errors import printable

SCHEMA = "jupyter-mlprod/check"
SCHEMA_VERSION = 2


def report_json(analysis: Analysis) -> dict[str, Any]:
    """The analysis in the ``jupyter-mlprod/check`` schema, version 2.

    Every entry with a 0-based ``cell`` index also carries its 1-based ``cell_number``
    (``from_cell_number``/``to_cell_number`` in flows, ``number`` in a stage's cells).
    """
    cells_by_index = {cell.index: cell for cell in analysis.cells}
    stages = []
    if analysis.parameters_cell is not None:
        stages.append(
            {
                "role": roles.PARAMETERS,
                "cells": [_cell_entry(cells_by_index, analysis.parameters_cell)],
                "reads": [],
                "provides": [spec.name for spec in analysis.parameters],
            }
        )
    for role in roles.TAGGED_STAGES:
        tagged = [cell.index for cell in analysis.cells if cell.role == role]
        plans = [
            plan
            for plan in analysis.plans
            # The pseudo-stages made from the predict cells report as part of predict.
            if plan.role == role
            or (role == roles.PREDICT and not roles.stage_spec(plan.role).tagged)
        ]
        if not tagged and not any(plan.statements for plan in plans):
            continue
        main = analysis.plan(role)
        reads = list(main.inputs) + list(main.params_read) if main else []
        if role == roles.PREDICT:
            reads += [name for name in analysis.artifacts if name not in reads]
        stages.append(
            {
                "role": role,
                "cells": [_cell_entry(cells_by_index, index) for index in tagged],
                "reads": reads,
                "provides": list(main.outputs) if main else [],
            }
        )
    io = analysis.predict_io
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "notebook": analysis.path,
        "ok": analysis.ok,
        "stages": stages,
        "parameters": [
            {
                "name": spec.name,
                "type": spec.python_type,
                "default": spec.default if _jsonable(spec.default) else spec.default_repr,
                "default_repr": spec.default_repr,
                "comment": spec.comment,
                "cell": analysis.parameters_cell,
                "cell_number": cell_number(analysis.parameters_cell),
                "line": spec.line,
            }
            for spec in analysis.parameters
        ],
        "flows": [
            {
                "name": flow.name,
                "from_role": flow.from_role,
                "from_cell": flow.from_cell,
                "from_cell_number": cell_number(flow.from_cell),
                "to_role": flow.to_role,
                "to_cell": flow.to_cell,
                "to_cell_number": cell_number(flow.to_cell),
            }
            for flow in analysis.flows
        ],
        "artifacts": list(analysis.artifacts),
        "predict": {
            "input": io.input,
            "output": io.output,
            "output_column": io.output_column,
            "input_source": io.input_source,
            "output_source": io.output_source,
            "reason": io.reason,
            "input_candidates": list(io.input_candidates),
            "output_candidates": list(io.output_candidates),
        },
        "display_only": [
            _numbered({"cell": st.cell, "line": st.line, "code": st.summary})
            for st in analysis.display_only
        ],
        "inferred": [_numbered(inference.to_json()) for inference in analysis.inferred],
        "left_out": [
            _numbered(
                {
                    "cell": item.statement.cell,
                    "line": item.statement.line,
                    "code": item.statement.summary,
                    "reason": item.reason,
                }
            )
            for item in analysis.left_out
        ],
        "magics": [
            _numbered({"cell": cell, "line": note.line, "code": note.code, "action": note.action})
            for cell, note in analysis.magics
        ],
        "paths": [
            {
                "cell": found.cell,
                "cell_number": cell_number(found.cell),
                "line": found.line,
                "value": found.value,
                "kind": found.kind,
                "absolute": found.absolute,
                "lifted_to": found.lifted_to,
            }
            for found in analysis.paths
        ],
        "requirements_from_pip": list(analysis.pip_requirements),
        "problems": [_numbered(problem.to_json()) for problem in analysis.problems],
        "suggestions": [_numbered(suggestion.to_json()) for suggestion in analysis.suggestions],
    }


def report_text(analysis: Analysis) -> str:
    """A readable summary: stages, data flow, artifacts, predict I/O, notes, problems."""
    data = report_json(analysis)
    lines = [f"{analysis.path}: {'ready to convert' if analysis.ok else 'cannot convert yet'}"]
    lines.append("")
    lines.append("Stages")
    for stage in data["stages"]:
        cells = ", ".join(str(cell["number"]) for cell in stage["cells"]) or "-"
        lines.append(f"  {stage['role']:<11} cells {cells}")
        if stage["reads"]:
            lines.append(f"  {'':<11} reads    {', '.join(stage['reads'])}")
        if stage["provides"]:
            lines.append(f"  {'':<11} provides {', '.join(stage['provides'])}")
    if analysis.parameters:
        lines.append("")
        lines.append("Parameters")
        for spec in analysis.parameters:
            comment = f"  # {spec.comment}" if spec.comment else ""
            lines.append(f"  {spec.name}: {spec.python_type} = {spec.default_repr}{comment}")
    io = analysis.predict_io
    lines.append("")
    lines.append(
        f"Predict: input {io.input or '?'} ({io.input_source}), "
        f"output {io.output_expression or '?'} "
        f"({io.output_source})"
    )
    if io.input_source == "inferred" or io.output_source == "inferred":
        lines.append(f"  inferred: {io.reason}")
    lines.append(f"Artifacts: {', '.join(analysis.artifacts) or 'none'}")
    if analysis.display_only:
        lines.append("")
        lines.append("Display-only code left out")
        for item in data["display_only"]:
            lines.append(f"  cell {item['cell_number']}, line {item['line']}: {item['code']}")
    if analysis.left_out:
        lines.append("")
        lines.append("Predict cells' code left out (off the data path)")
        for item in data["left_out"]:
            lines.append(
                f"  cell {item['cell_number']}, line {item['line']}: {item['code']} "
                f"({item['reason']})"
            )
    if analysis.inferred:
        lines.append("")
        lines.append("Untagged code the stages need (inferred; --strict makes it an error)")
        for inference in analysis.inferred:
            lines.append(
                f"  cell {inference.cell + 1}, line {inference.line}: joins {inference.stage} "
                f"({inference.because})"
            )
    if analysis.magics:
        lines.append("")
        lines.append("IPython syntax")
        for item in data["magics"]:
            lines.append(
                f"  cell {item['cell_number']}, line {item['line']}: {item['code']} "
                f"({item['action']})"
            )
    if analysis.paths:
        lines.append("")
        lines.append("Hard-coded paths")
        for found in analysis.paths:
            lifted = f" -> parameter {found.lifted_to}" if found.lifted_to else ""
            lines.append(f"  cell {found.cell + 1}, line {found.line}: {found.value!r}{lifted}")
    differing = [
        suggestion
        for suggestion in analysis.suggestions
        # Suggestions never propose `skip`: an author's skip is not a disagreement.
        if suggestion.role != suggestion.current
        and not (suggestion.current == roles.SKIP and suggestion.role is None)
    ]
    if differing:
        lines.append("")
        lines.append("Suggested roles (nb2prod tag)")
        for suggestion in differing:
            lines.append(
                f"  cell {suggestion.cell + 1}: {suggestion.current or 'untagged'} -> "
                f"{suggestion.role or 'untagged'} ({suggestion.reason})"
            )
    if analysis.problems:
        lines.append("")
        lines.append("Problems")
        for problem in analysis.problems:
            lines.append(f"  {problem.severity}: {problem.render(analysis.path)}")
    # Names, code and paths are the notebook's text: escape what would break a line.
    return "".join(printable(line) + "\n" for line in lines)


def _cell_entry(cells_by_index: dict[int, Any], index: int) -> dict[str, Any]:
    cell = cells_by_index.get(index)
    return {
        "index": index,
        "number": index + 1,
        "id": cell.cell_id if cell else None,
        "summary": cell.summary if cell else "",
    }


def cell_number(index: int | None) -> int | None:
    """The 1-based number people know a cell by, from its 0-based index."""
    return None if index is None else index + 1


def _numbered(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry with ``cell_number`` after its ``cell`` index."""
    numbered: dict[str, Any] = {}
    for key, value in entry.items():
        numbered[key] = value
        if key == "cell":
            numbered["cell_number"] = cell_number(value)
    return numbered


def _jsonable(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str, list, dict))
