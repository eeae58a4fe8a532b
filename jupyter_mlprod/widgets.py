"""The pipeline panel as ipywidgets, for front ends without the JupyterLab extension.

VS Code, Colab and the classic Notebook cannot load the lab extension's side panel; this
panel shows the same outline inside the notebook's own output area. Run, in a cell of the
notebook you are working on::

    from jupyter_mlprod.widgets import pipeline_panel
    pipeline_panel()

It shows the stages in order (with their cells), the variables that flow between them, the
parameters, the artifacts, the predict input and output, and every warning and error of
``nb2prod check``. It analyses the notebook **as saved on disk**: save, then press
**Check** to re-read and re-analyse it. **Convert** writes the package into the directory
in the text box (a relative directory is taken from the notebook's folder) and refuses to
replace an existing directory unless **force** is ticked.

Which notebook? A kernel is not reliably told which file it runs, so the panel looks, in
this order, at:

1. the path you pass: ``pipeline_panel("analysis/churn.ipynb")`` (relative to the kernel's
   working directory, which is usually the notebook's folder);
2. the ``__vsc_ipynb_file__`` variable that VS Code's Jupyter extension defines in the kernel;
3. the ``JPY_SESSION_NAME`` environment variable that Jupyter Server 2 and later set when
   they start a notebook's kernel (it keeps the name the notebook had then: after renaming
   the notebook, restart the kernel or pass the path).

When none of them names an existing notebook (Colab, older servers), the panel says so and
shows the call to make: ``pipeline_panel("path/to/notebook.ipynb")``.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConversionError, MlprodError, cell_number
from .roles import ROLES

try:
    import ipywidgets as widgets
except ImportError as error:  # the `lab` extra is optional for the converter and the CLI
    raise ImportError(
        "the pipeline panel needs ipywidgets: pip install 'jupyter-mlprod[lab]'"
    ) from error

VSCODE_GLOBAL = "__vsc_ipynb_file__"
SESSION_ENV = "JPY_SESSION_NAME"
EXPLICIT_CALL = 'pipeline_panel("path/to/notebook.ipynb")'
CANNOT_FIND = f"Cannot tell which notebook this kernel is running. Pass its path: {EXPLICIT_CALL}"

_ROLE_COLOURS = {role.tag: role.colour for role in ROLES}


@dataclass(frozen=True)
class NotebookLocation:
    """Where the panel's notebook is, and how that was found.

    Attributes:
        path: the notebook file, or None when it could not be found.
        source: ``"argument"``, ``"vscode"`` or ``"session"``; ``""`` when not found.
        message: when not found, the one line telling the user what to pass.
    """

    path: Path | None
    source: str = ""
    message: str = ""


def find_notebook(
    explicit: str | os.PathLike[str] | None = None,
    *,
    user_ns: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> NotebookLocation:
    """Find the notebook the panel is about (rules in the module docstring).

    Args:
        explicit: the path passed to :func:`pipeline_panel`; when given, it is the only
            candidate, so a typo is reported instead of silently showing another notebook.
        user_ns: the kernel's global namespace (default: IPython's, when running in one).
        environ: the environment (default ``os.environ``).
        cwd: where relative paths start (default: the current directory).
    """
    cwd = cwd or Path.cwd()
    if explicit is not None:
        path = _absolute(explicit, cwd)
        if path.is_file():
            return NotebookLocation(path, "argument")
        return NotebookLocation(
            None, message=f"No notebook at {os.fspath(explicit)!r} (looked for {path})."
        )
    namespace = _kernel_namespace() if user_ns is None else user_ns
    environ = os.environ if environ is None else environ
    tried = []
    for source, value, label in (
        ("vscode", namespace.get(VSCODE_GLOBAL), VSCODE_GLOBAL),
        ("session", environ.get(SESSION_ENV), SESSION_ENV),
    ):
        if not isinstance(value, str) or not value:
            continue
        path = _absolute(value, cwd)
        if path.suffix == ".ipynb" and path.is_file():
            return NotebookLocation(path, source)
        tried.append(f"{label} names {value!r}, which is not a notebook on disk")
    detail = f" ({'; '.join(tried)}.)" if tried else ""
    return NotebookLocation(None, message=CANNOT_FIND + detail)


def pipeline_panel(path: str | os.PathLike[str] | None = None) -> PipelinePanel:
    """The pipeline panel for this notebook (or ``path``), analysed once already.

    Make it the last expression of a cell (or pass it to ``display``) to show it.
    """
    panel = PipelinePanel(find_notebook(path))
    if panel.location.path is not None:
        panel.check()
    return panel


class PipelinePanel(widgets.VBox):  # type: ignore[misc]
    """The outline of one notebook with Check and Convert buttons.

    The analysis and conversion are the same calls the CLI makes; this class only wires
    them to widgets, so :meth:`check` and :meth:`convert` can be called directly too.
    """

    def __init__(self, location: NotebookLocation) -> None:
        self.location = location
        self.report: dict[str, Any] | None = None
        self.header = widgets.HTML()
        self.outline = widgets.HTML()
        self.result = widgets.HTML()
        self.check_button = widgets.Button(description="Check", icon="refresh")
        self.output_dir = widgets.Text(description="Output dir", placeholder="churn_package")
        self.force = widgets.Checkbox(description="force (replace it)", indent=False)
        self.convert_button = widgets.Button(
            description="Convert", icon="cogs", button_style="primary"
        )
        if location.path is None:
            self.header.value = f"<b>Pipeline</b>: {html.escape(location.message)}"
            super().__init__(children=[self.header])
            return
        self.header.value = f"<b>Pipeline</b> of <code>{html.escape(str(location.path))}</code>"
        self.output_dir.value = f"{location.path.stem}_package"
        self.check_button.on_click(lambda _button: self._busy(self.check, self.outline))
        self.convert_button.on_click(lambda _button: self._busy(self.convert, self.result))
        controls = widgets.HBox([self.check_button, self.output_dir, self.force])
        super().__init__(
            children=[self.header, controls, self.convert_button, self.outline, self.result]
        )

    @property
    def message(self) -> str:
        """The text of the panel's header (what to pass, when the notebook was not found)."""
        return self.location.message

    def check(self) -> dict[str, Any] | None:
        """Re-read the notebook from disk, analyse it and redraw the outline."""
        from .analysis import AnalysisOptions, analyse_notebook
        from .notebook import load_notebook
        from .report import report_json

        path = self._path()
        try:
            analysis = analyse_notebook(load_notebook(path), AnalysisOptions())
        except MlprodError as error:
            self.report = None
            self.outline.value = _error_html(str(error))
            return None
        self.report = dict(report_json(analysis))
        self.outline.value = outline_html(self.report)
        return self.report

    def convert(self) -> Any:
        """Convert the notebook on disk into the output directory; show files or errors.

        Returns:
            The :class:`~jupyter_mlprod.convert.ConversionResult`, or None when it failed.
        """
        from .convert import ConvertOptions, convert_notebook

        path = self._path()
        typed = self.output_dir.value.strip()
        if not typed:
            self.result.value = _error_html("Type an output directory first.")
            return None
        out_dir = _absolute(typed, path.parent)
        options = ConvertOptions(
            name=None,
            predict_input=None,
            predict_output=None,
            lift_paths=False,
            force=bool(self.force.value),
        )
        try:
            result = convert_notebook(path, out_dir, options)
        except ConversionError as error:
            self.result.value = _error_html("Conversion stopped:", error.messages)
            return None
        except MlprodError as error:
            self.result.value = _error_html(str(error))
            return None
        self.result.value = converted_html(result.out_dir, result.files, result.warnings)
        return result

    def _busy(self, action: Callable[[], object], area: Any) -> None:
        """Run a button's action with both buttons disabled, so a slow conversion is not
        started twice and the user sees that something is happening."""
        buttons = (self.check_button, self.convert_button)
        for button in buttons:
            button.disabled = True
        area.value = "<i>working…</i>"
        try:
            action()
        finally:
            for button in buttons:
                button.disabled = False

    def _path(self) -> Path:
        if self.location.path is None:
            raise RuntimeError(self.location.message)
        return self.location.path


def outline_html(report: Mapping[str, Any]) -> str:
    """Render a ``check`` report (schema ``jupyter-mlprod/check``) as the panel's outline."""
    problems = list(report.get("problems", []))
    errors = [p for p in problems if p.get("severity") == "error"]
    warnings = [p for p in problems if p.get("severity") != "error"]
    parts = [_status_html(errors, warnings), _stages_html(report.get("stages", []))]
    parts.append(_parameters_html(report.get("parameters", [])))
    parts.append(_flows_html(report.get("flows", [])))
    artifacts = report.get("artifacts", [])
    if artifacts:
        parts.append(_section("Artifacts", ", ".join(_code(name) for name in artifacts)))
    parts.append(_predict_html(report.get("predict") or {}))
    if problems:
        items = "".join(_problem_html(problem) for problem in errors + warnings)
        parts.append(_section("Problems", f"<ul>{items}</ul>"))
    return "\n".join(part for part in parts if part)


def converted_html(out_dir: Any, files: Sequence[str], warnings: Sequence[str]) -> str:
    """The result of a successful conversion: where, which files, and any warnings."""
    listed = "".join(f"<li>{_code(name)}</li>" for name in sorted(files))
    text = f"<b>Converted</b> into <code>{html.escape(str(out_dir))}</code>:<ul>{listed}</ul>"
    if warnings:
        text += "<b>Warnings</b><ul>" + "".join(f"<li>{_esc(w)}</li>" for w in warnings) + "</ul>"
    return text


def _status_html(errors: list[Any], warnings: list[Any]) -> str:
    if errors:
        plural = "s" if len(errors) > 1 else ""
        return (
            f'<p style="color:#c62828"><b>✗ {len(errors)} error{plural}</b>: '
            "fix before converting</p>"
        )
    note = f" ({len(warnings)} warning{'s' if len(warnings) > 1 else ''})" if warnings else ""
    return f'<p style="color:#2e7d32"><b>✓ Ready to convert</b>{note}</p>'


def _stages_html(stages: Sequence[Mapping[str, Any]]) -> str:
    if not stages:
        return _section("Stages", "<i>no tagged cells yet: tag cells load, train, predict</i>")
    items = []
    for stage in stages:
        role = str(stage.get("role", ""))
        cells = ", ".join(_number(cell.get("index")) for cell in stage.get("cells", []))
        line = f"{_chip(role)} cell{'s' if ',' in cells else ''} {cells}"
        if stage.get("reads"):
            line += f" — reads {', '.join(_code(name) for name in stage['reads'])}"
        if stage.get("provides"):
            line += f" — provides {', '.join(_code(name) for name in stage['provides'])}"
        items.append(f"<li>{line}</li>")
    return _section("Stages", f"<ol>{''.join(items)}</ol>")


def _parameters_html(parameters: Sequence[Mapping[str, Any]]) -> str:
    if not parameters:
        return ""
    items = "".join(
        f"<li>{_code(p.get('name'))}: {_esc(p.get('type', ''))} = "
        f"{_code(p.get('default_repr', p.get('default')))}"
        + (f" — {_esc(p['comment'])}" if p.get("comment") else "")
        + "</li>"
        for p in parameters
    )
    return _section("Parameters", f"<ul>{items}</ul>")


def _flows_html(flows: Sequence[Mapping[str, Any]]) -> str:
    if not flows:
        return ""
    items = "".join(
        f"<li>{_code(flow.get('name'))}: {_esc(flow.get('from_role'))} (cell "
        f"{_number(flow.get('from_cell'))}) → {_esc(flow.get('to_role'))} (cell "
        f"{_number(flow.get('to_cell'))})</li>"
        for flow in flows
    )
    return _section("Data flow", f"<ul>{items}</ul>")


def _predict_html(predict: Mapping[str, Any]) -> str:
    if not predict:
        return ""
    sides = []
    for side in ("input", "output"):
        name = predict.get(side)
        if name:
            source = predict.get(f"{side}_source")
            sides.append(f"{side} {_code(name)}" + (f" ({_esc(source)})" if source else ""))
        else:
            candidates = predict.get(f"{side}_candidates") or []
            choices = ", ".join(_code(c) for c in candidates) or "none found"
            sides.append(f"{side} <i>not chosen</i> (candidates: {choices})")
    text = "; ".join(sides)
    if predict.get("reason"):
        text += f"<br><small>{_esc(predict['reason'])}</small>"
    return _section("Predict", text)


def _number(index: Any) -> str:
    """A report's 0-based cell index as people read it (1-based, as JupyterLab shows)."""
    return str(cell_number(index)) if isinstance(index, int) else _esc(index)


def _problem_html(problem: Mapping[str, Any]) -> str:
    severity = str(problem.get("severity", "warning"))
    colour = "#c62828" if severity == "error" else "#b26a00"
    where = []
    if problem.get("cell") is not None:
        where.append(f"cell {_number(problem['cell'])}")
    if problem.get("line") is not None:
        where.append(f"line {problem['line']}")
    location = f" [{', '.join(where)}]" if where else ""
    hint = f"<br><small>{_esc(problem['hint'])}</small>" if problem.get("hint") else ""
    return (
        f'<li><b style="color:{colour}">{_esc(severity)}</b>{_esc(location)}: '
        f"{_esc(problem.get('message', ''))}{hint}</li>"
    )


def _error_html(headline: str, lines: Sequence[str] = ()) -> str:
    items = "".join(f"<li>{_esc(line)}</li>" for line in lines)
    return f'<p style="color:#c62828"><b>{_esc(headline)}</b></p>' + (
        f"<ul>{items}</ul>" if items else ""
    )


def _chip(role: str) -> str:
    colour = _ROLE_COLOURS.get(role, "#555555")
    return (
        f'<span style="background:{colour};color:white;border-radius:8px;'
        f'padding:0 6px;font-weight:bold">{_esc(role)}</span>'
    )


def _section(title: str, body: str) -> str:
    return f'<div style="margin-top:0.5em"><b>{_esc(title)}</b><br>{body}</div>'


def _code(value: Any) -> str:
    return f"<code>{_esc(value)}</code>"


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _absolute(path: str | os.PathLike[str], base: Path) -> Path:
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else base / candidate


def _kernel_namespace() -> Mapping[str, Any]:
    """The globals of the running IPython kernel, or an empty mapping outside one."""
    try:
        from IPython.core.getipython import get_ipython
    except ImportError:
        return {}
    shell = get_ipython()
    return {} if shell is None else shell.user_ns
