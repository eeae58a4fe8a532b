"""``nb2prod``: check, convert, tag, run, rerun, runs list and verify tagged notebooks.

The CLI parses arguments, calls the orchestrators and prints; every error the tool means to
raise is an :class:`~jupyter_mlprod.errors.MlprodError` and becomes one line on stderr with a
non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from . import __version__
from .errors import MlprodError, cell_number

if TYPE_CHECKING:
    from .convert import ConversionResult

EXIT_PROBLEMS = 1
EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except MlprodError as error:
        print(f"nb2prod: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("nb2prod: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `nb2prod convert … | head`: the reader left; say nothing more.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - replaces stdout for interpreter exit
        return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="nb2prod",
        description="Take a tagged notebook (cells tagged parameters, load, train, predict, "
        "skip) to a production package.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")

    check = subparsers.add_parser(
        "check",
        help="report stages, data flow and problems (exit 1 if conversion would fail)",
        description="Analyse NOTEBOOK statically (it is never executed) and report its stages, "
        "the names flowing between them, the artifacts, the predict input/output, and every "
        "problem that would stop a clean conversion.",
    )
    check.add_argument("notebook", metavar="NOTEBOOK")
    check.add_argument("--json", action="store_true", help="print the report as JSON (schema v2)")
    _add_io_options(check)
    check.set_defaults(func=_check)

    convert = subparsers.add_parser(
        "convert",
        help="write an installable package from a tagged notebook",
        description="Convert NOTEBOOK statically (it is never executed) into an installable "
        "package with separate training and prediction modules.",
    )
    convert.add_argument("notebook", metavar="NOTEBOOK")
    convert.add_argument("-o", "--output", required=True, metavar="DIR", help="package directory")
    convert.add_argument("--name", help="package name (default: <notebook stem>_model)")
    _add_io_options(convert)
    convert.add_argument(
        "--force", action="store_true", help="replace DIR if it exists (atomically)"
    )
    convert.add_argument(
        "--quality",
        action="append",
        default=[],
        metavar="METRIC>=VALUE",
        help="a floor the generated model tests hold a fresh train to (METRIC<=VALUE when "
        "lower is better; repeatable; default: the notebook's metadata.mlprod.quality, else "
        "the first trained version)",
    )
    convert.set_defaults(func=_convert)

    tag = subparsers.add_parser(
        "tag",
        help="suggest a role for each code cell (and write the tags with --write)",
        description="Read NOTEBOOK statically (it is never executed) and propose a role for "
        "each code cell: parameters, load, train, predict or untagged, each with its reason.",
    )
    tag.add_argument("notebook", metavar="NOTEBOOK")
    tag.add_argument(
        "--write",
        action="store_true",
        help="tag the cells in NOTEBOOK (atomically; other tags are kept)",
    )
    tag.add_argument(
        "--force",
        action="store_true",
        help="with --write, also replace (or remove) roles the notebook already has",
    )
    tag.add_argument(
        "--no-split",
        action="store_true",
        help="never propose splitting a cell that fits and then predicts",
    )
    tag.add_argument("--json", action="store_true", help="print the suggestions as JSON")
    tag.set_defaults(func=_tag)

    # Light to import: papermill is imported by a run, which says how to install it if missing.
    from .runs import commands as run_commands

    run_commands.register(subparsers)
    return parser


def _add_io_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--predict-input", metavar="VAR", help="the variable holding new data to predict on"
    )
    parser.add_argument(
        "--predict-output", metavar="VAR", help="the variable holding the predictions"
    )
    parser.add_argument(
        "--lift-paths",
        action="store_true",
        help="turn hard-coded file paths and URLs in stage code into parameters",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="do not complete stages from untagged cells: a stage reading a value only "
        "untagged code provides is an error",
    )


def _check(args: argparse.Namespace) -> int:
    from .analysis import AnalysisOptions, analyse_notebook
    from .notebook import load_notebook
    from .report import report_json, report_text

    notebook = load_notebook(args.notebook)
    options = AnalysisOptions(
        args.predict_input, args.predict_output, args.lift_paths, strict=args.strict
    )
    analysis = analyse_notebook(notebook, options)
    if args.json:
        print(json.dumps(report_json(analysis), indent=2))
    else:
        sys.stdout.write(report_text(analysis))
    return 0 if analysis.ok else EXIT_PROBLEMS


def _convert(args: argparse.Namespace) -> int:
    from .convert import ConvertOptions, convert_notebook

    options = ConvertOptions(
        name=args.name,
        predict_input=args.predict_input,
        predict_output=args.predict_output,
        lift_paths=args.lift_paths,
        force=args.force,
        strict=args.strict,
        quality=tuple(args.quality),
    )
    result = convert_notebook(args.notebook, args.output, options)
    for warning in result.warnings:
        print(f"nb2prod: warning: {warning}", file=sys.stderr)
    print(f"wrote {result.names.distribution} to {result.out_dir} ({len(result.files)} files)")
    for name in result.files:
        print(f"  {name}")
    _print_next_steps(args.output, result)
    return 0


def _print_next_steps(output: str, result: ConversionResult) -> None:
    """What to do with the package: the files that deliver it and the commands, in order."""
    command = result.names.distribution
    gate = ", ".join(floor.describe() for floor in result.quality) or "none set: vs first version"
    out = os.path.join(output, "")
    lines = [
        "next steps:",
        f"  install       pip install '{output.rstrip(os.sep)}[test]'",
        f"  train         {command} train    (where the notebook's relative data paths resolve)",
        f"  test          cd {out} && pytest    (tests/test_smoke.py, tests/test_model.py;"
        f" quality gate: {gate})",
        f"  serve         {command} serve    (POST /predict, GET /health)",
        f"  docker build  docker build -t {command} {out}    (Dockerfile, .dockerignore)",
        f"  CI            {out}.github/workflows/ci.yml    (lint, tests, train smoke, manifest)",
    ]
    print("\n".join(lines))


def _tag(args: argparse.Namespace) -> int:
    from .analysis.suggest import plan_tags, suggest_roles, suggest_splits
    from .notebook import load_notebook, split_notebook, write_cell_tags

    if args.force and not args.write:
        print("nb2prod: error: --force only applies with --write", file=sys.stderr)
        return EXIT_USAGE
    notebook = load_notebook(args.notebook)
    splits = () if args.no_split else suggest_splits(notebook)
    # The roles are suggested for the notebook as it reads after the split.
    working = split_notebook(notebook, {split.cell: split.line for split in splits})
    suggestions = suggest_roles(working)
    plan = plan_tags(working, suggestions, force=args.force)
    written = bool(args.write and (plan.changes or splits))
    if written:
        write_cell_tags(
            args.notebook,
            {change.cell: change.tags for change in plan.changes},
            splits={
                split.cell: (split.line, notebook.cells[split.cell].source) for split in splits
            },
        )
    if args.json:
        report = {
            "notebook": args.notebook,
            # Beside every 0-based `cell`, the 1-based number people know it by (as check).
            "splits": [
                {**split.to_json(), "cell_number": cell_number(split.cell)} for split in splits
            ],
            "suggestions": [
                {
                    **suggestion.to_json(),
                    "cell_number": cell_number(suggestion.cell),
                    "current": suggestion.current,
                }
                for suggestion in suggestions
            ],
            "changes": [
                {
                    "cell": change.cell,
                    "cell_number": cell_number(change.cell),
                    "old_role": change.old_role,
                    "new_role": change.new_role,
                }
                for change in plan.changes
            ],
            "written": written,
            "kept": [suggestion.cell for suggestion in plan.kept],
        }
        print(json.dumps(report, indent=2))
        return 0
    for split in splits:
        done = "split" if args.write else "suggest splitting"
        print(
            f"{done} cell {cell_number(split.cell)} before line {split.line} "
            f"(`{split.statement}`): {split.reason}"
        )
    after = " (cell numbers as after the split)" if splits and not args.write else ""
    print(f"{args.notebook}: suggested roles{after}")
    for suggestion in suggestions:
        now = (
            f"  [tagged {suggestion.current}]"
            if suggestion.current not in (None, suggestion.role)
            else ""
        )
        print(
            f"  cell {cell_number(suggestion.cell):<3} {suggestion.role or '-':<10} "
            f"{suggestion.reason}{now}"
        )
    changes = ", ".join(
        f"cell {cell_number(change.cell)} {change.old_role or 'untagged'} -> "
        f"{change.new_role or 'untagged'}"
        for change in plan.changes
    )
    if not plan.changes and not splits:
        print("nothing to write: the notebook's roles agree with the suggestions")
    elif args.write:
        print(f"wrote {args.notebook}: {changes}")
    else:
        print(f"with --write: {changes}")
    for suggestion in plan.kept:
        print(
            f"kept cell {cell_number(suggestion.cell)} as {suggestion.current or 'untagged'} "
            f"(suggested {suggestion.role or 'untagged'}); pass --write --force to replace it"
        )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
