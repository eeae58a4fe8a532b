"""The HTML drift report of ``models monitor --report F``: one self-contained file.

The page holds the verdict, a table of the per-column results and one plot per column (the
reference's histogram or category frequencies beside the current data's, as shares so that
batches of any size compare), drawn as inline SVG by this module: no script, no stylesheet
or font from the network, nothing to install, so the file opens offline and can be attached
to a CI run. It is written to a temporary file beside the target and renamed over it, so a
failed run never leaves half a report.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .drift import ColumnDrift, DriftReport, aligned_counts
from .errors import InputError
from .locks import create_locked, remove_abandoned
from .profile import ColumnProfile, category_counts, numeric_values

REPORT_FORMATS = (".html", ".htm")
PARTIAL_MARKER = ".mlprod-partial-"
_WIDTH, _HEIGHT = 520, 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 12, 28, 42
_REFERENCE_COLOUR, _CURRENT_COLOUR = "#4c78a8", "#f58518"
_STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1120px}
h1{font-size:1.4em;margin:0 0 4px}
.verdict{font-size:1.1em;padding:8px 12px;border-radius:4px;display:inline-block;margin:8px 0}
.drift{background:#fde2e1;color:#8a1c13}.ok{background:#e3f4e1;color:#1e5b1a}
table{border-collapse:collapse;margin:12px 0 20px;font-size:.92em}
th,td{border-bottom:1px solid #ddd;padding:4px 10px;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.drifted td{background:#fff3f2}
.plots{display:flex;flex-wrap:wrap;gap:16px}
figure{margin:0;border:1px solid #ddd;border-radius:4px;padding:8px}
figcaption{font-size:.85em;color:#555;max-width:520px}
"""


def check_report_target(path: str | os.PathLike[str]) -> Path:
    """Check the report can be written before any work is done.

    Raises:
        InputError: One line naming the target when it is not an ``.html`` file in an existing
            directory.
    """
    target = Path(path)
    if target.is_dir():
        raise InputError(
            f"{target}: is a directory; name the report file, e.g. {target / 'drift.html'}"
        )
    if target.suffix.lower() not in REPORT_FORMATS:
        raise InputError(f"{target}: the report is HTML; name it with .html")
    if not target.parent.is_dir():
        raise InputError(f"{target.parent}: report directory does not exist")
    return target


def write_report(path: str | os.PathLike[str], page: str) -> Path:
    """Write the page to ``path`` atomically (a locked temporary file, then a rename).

    Raises:
        InputError: One line naming the target when it cannot be written.
    """
    target = check_report_target(path)
    directory = target.parent
    remove_abandoned((p, p) for p in directory.glob(f".*{PARTIAL_MARKER}*"))
    try:
        temp, descriptor = create_locked(directory, f".{target.name}{PARTIAL_MARKER}", ".html")
    except OSError as error:
        raise InputError(
            f"{target}: cannot write to {directory} ({error.strerror or type(error).__name__})"
        ) from None
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(page)
        os.replace(temp, target)
    except OSError as error:
        temp.unlink(missing_ok=True)
        raise InputError(
            f"{target}: cannot write the report ({error.strerror or type(error).__name__})"
        ) from None
    return target


def render_report(
    report: DriftReport,
    profile: Mapping[str, Any],
    current: Mapping[str, Any],
    predictions: Mapping[str, Any] | None = None,
    *,
    title: str = "Drift report",
    subtitle: str = "",
) -> str:
    """Render the report as one HTML page.

    Args:
        report: What :func:`drift.detect_drift` returned.
        profile: The reference profile the report was computed against.
        current: Column name → current values (``profile.column_values`` of the input).
        predictions: The same for the predictions, or ``None``.
        title: The page's heading.
        subtitle: A line under it (version, input file).

    Returns:
        The page's HTML.
    """
    references = {str(c["name"]): c for c in profile.get("columns", [])}
    predicted = {str(c["name"]): c for c in profile.get("prediction", [])}
    verdict = (
        f"Dataset drift: {report.n_drifted} of {len(report.columns)} columns drifted "
        f"(share {report.share:.2f} ≥ {report.drift_share:.2f})"
        if report.drifted
        else f"No dataset drift: {report.n_drifted} of {len(report.columns)} columns drifted "
        f"(share {report.share:.2f} < {report.drift_share:.2f})"
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_text(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{_text(title)}</h1>",
        f"<div>{_text(subtitle)}</div>" if subtitle else "",
        f'<div class="verdict {"drift" if report.drifted else "ok"}" id="verdict">'
        f"{_text(verdict)}</div>",
    ]
    if report.missing_columns:
        parts.append(
            f"<p>Not in the input, not tested: {_text(', '.join(report.missing_columns))}</p>"
        )
    parts.append(_table("Input columns", report.columns, "input"))
    if report.prediction:
        parts.append(_table("Predictions", report.prediction, "prediction"))
    parts.append('<h2>Reference and current distributions</h2><div class="plots">')
    for result in report.columns:
        parts.append(_plot(result, references[result.column], current.get(result.column), "input"))
    for result in report.prediction:
        values = (predictions or {}).get(result.column)
        parts.append(_plot(result, predicted[result.column], values, "prediction"))
    parts.append("</div></body></html>")
    return "\n".join(part for part in parts if part)


def _table(heading: str, results: Sequence[ColumnDrift], group: str) -> str:
    rows = [
        f"<h2>{_text(heading)}</h2>",
        f'<table class="results" data-group="{group}"><thead><tr><th>column</th><th>kind</th>'
        "<th>test</th><th>statistic</th><th>p-value</th><th>threshold</th><th>drifted</th>"
        "<th>rows</th><th>missing</th></tr></thead><tbody>",
    ]
    for result in results:
        rows.append(
            f'<tr class="{"drifted" if result.drifted else ""}"><td>{_text(result.column)}</td>'
            f"<td>{result.kind}</td><td>{result.test}</td>"
            f'<td class="num">{_number(result.statistic)}</td>'
            f'<td class="num">{_number(result.p_value)}</td>'
            f'<td class="num">{_number(result.threshold)}</td>'
            f"<td>{'yes' if result.drifted else 'no'}</td>"
            f'<td class="num">{result.current_rows}</td>'
            f'<td class="num">{result.current_null_rate:.1%}</td></tr>'
        )
    rows.append("</tbody></table>")
    return "".join(rows)


def _plot(result: ColumnDrift, reference: ColumnProfile, values: Any, group: str) -> str:
    array = np.asarray(values if values is not None else [])
    note = ""
    if reference["kind"] == "numeric" and reference.get("histogram"):
        edges = np.asarray(reference["histogram"]["edges"], dtype=np.float64)
        expected = np.asarray(reference["histogram"]["counts"], dtype=np.float64)
        numbers = numeric_values(array.reshape(-1)) if array.size else np.zeros(0)
        numbers = numbers[np.isfinite(numbers)] if numbers is not None else np.zeros(0)
        actual = np.histogram(numbers, bins=edges)[0].astype(np.float64)
        outside = int(((numbers < edges[0]) | (numbers > edges[-1])).sum())
        if outside:
            note = f"; {outside} current values outside the reference range"
        labels = [
            _short(float(edges[0])),
            _short(float(edges[len(edges) // 2])),
            _short(float(edges[-1])),
        ]
        total = max(len(numbers), 1)
        svg = _bars(expected / max(expected.sum(), 1), actual / total, labels, numeric=True)
    else:
        counts = category_counts(array.reshape(-1)) if array.size else category_counts(array)
        expected, actual = aligned_counts(reference, counts)
        names = [*reference.get("categories", {}), "other"]
        svg = _bars(
            expected / max(expected.sum(), 1), actual / max(actual.sum(), 1), names, numeric=False
        )
    verdict = "drifted" if result.drifted else "no drift"
    caption = (
        f"{result.column}: {result.test} {_number(result.score)} "
        f"(threshold {_number(result.threshold)}), {verdict}{note}"
    )
    return (
        f'<figure class="plot {group}" data-column="{_text(result.column)}" '
        f'data-drifted="{str(result.drifted).lower()}">{svg}'
        f"<figcaption>{_text(caption)}</figcaption></figure>"
    )


def _bars(reference: np.ndarray, current: np.ndarray, labels: Sequence[str], numeric: bool) -> str:
    """Paired bars (reference, current) per bin or category, shares on the y axis."""
    inner_width = _WIDTH - _LEFT - _RIGHT
    inner_height = _HEIGHT - _TOP - _BOTTOM
    top = float(max(reference.max(initial=0.0), current.max(initial=0.0), 1e-9))
    slots = max(len(reference), 1)
    slot = inner_width / slots
    bar = slot * (0.45 if not numeric else 0.5)
    shapes = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{_HEIGHT}" '
        f'viewBox="0 0 {_WIDTH} {_HEIGHT}" role="img">',
        f'<rect x="{_LEFT + 4}" y="6" width="10" height="10" fill="{_REFERENCE_COLOUR}"/>'
        f'<text x="{_LEFT + 18}" y="15" font-size="11">reference</text>'
        f'<rect x="{_LEFT + 90}" y="6" width="10" height="10" fill="{_CURRENT_COLOUR}"/>'
        f'<text x="{_LEFT + 104}" y="15" font-size="11">current</text>',
        f'<line x1="{_LEFT}" y1="{_TOP + inner_height}" x2="{_LEFT + inner_width}" '
        f'y2="{_TOP + inner_height}" stroke="#888"/>',
        f'<line x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{_TOP + inner_height}" stroke="#888"/>',
        f'<text x="{_LEFT - 4}" y="{_TOP + 4}" font-size="10" text-anchor="end">{top:.0%}</text>',
        f'<text x="{_LEFT - 4}" y="{_TOP + inner_height}" font-size="10" '
        'text-anchor="end">0</text>',
    ]
    for i, (ref, cur) in enumerate(zip(reference, current, strict=True)):
        x = _LEFT + i * slot + (slot - 2 * bar) / 2
        for offset, share, colour, name in (
            (0.0, ref, _REFERENCE_COLOUR, "reference"),
            (bar, cur, _CURRENT_COLOUR, "current"),
        ):
            height = inner_height * float(share) / top
            shapes.append(
                f'<rect class="{name}" x="{x + offset:.1f}" y="{_TOP + inner_height - height:.1f}" '
                f'width="{bar:.1f}" height="{height:.1f}" fill="{colour}">'
                f"<title>{_text(labels[i] if not numeric else '')} {name} "
                f"{float(share):.1%}</title></rect>"
            )
    baseline = _TOP + inner_height + 14
    if numeric:
        for position, label in zip((0.0, 0.5, 1.0), labels, strict=True):
            anchor = {0.0: "start", 0.5: "middle", 1.0: "end"}[position]
            shapes.append(
                f'<text x="{_LEFT + position * inner_width:.1f}" y="{baseline}" font-size="10" '
                f'text-anchor="{anchor}">{_text(label)}</text>'
            )
    else:
        for i, label in enumerate(labels):
            shapes.append(
                f'<text x="{_LEFT + (i + 0.5) * slot:.1f}" y="{baseline}" font-size="10" '
                f'text-anchor="middle">{_text(_clip(label, max(int(slot / 6), 3)))}</text>'
            )
    shapes.append("</svg>")
    return "".join(shapes)


def _short(value: float) -> str:
    return f"{value:.4g}"


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.4g}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 1)] + "…"


def _text(value: str) -> str:
    return html.escape(value, quote=True)
