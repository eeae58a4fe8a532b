"""Stage completion by slicing: the untagged statements a stage needs join it.

Tags say what the author means; slicing completes them. When a stage statement reads a value
(or changes one in place) whose reaching definition is an untagged statement, that statement
joins the earliest stage (in run order) that needs it, and so on transitively, in notebook
order and at statement level: the same cell's plots, prints and scores provide nothing a stage
needs and stay out. A statement that fits something never joins predict (prediction code
trains nothing): a refit predict needs joins train, which runs before predict. Untagged
changes of a staged value between its definition and its use are reaching definitions too, so
they are kept in order. Skipped cells are never pulled in; the walk
reports a stage that needs one. Every statement added is reported as an :class:`Inference`.

The global random generators are values too (:mod:`.global_rng`): a stage statement that
draws from NumPy's global generator (a forest fitted without ``random_state``) reads the
state every earlier draw left, so the untagged statements that advanced it since the last
reseed join the stage, in order — else the package's fit would see another state than the
notebook's. ``--strict`` turns these into warnings instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import libcst as cst

from .. import roles
from ..errors import cell_number
from .display import DisplayScan
from .global_rng import GENERATOR_LABELS, GeneratorScan
from .statements import CODE, Statement, mutated_names, parse_cell
from .types import Inference

# A statement with its cell's role (None: untagged), as the intake and the walk pass them.
RoledStatement = tuple[Statement, str | None]

# Methods that train what they are called on.
FITTING_METHODS = frozenset(
    {"fit", "partial_fit", "fit_transform", "fit_predict", "fit_resample", "train", "compile"}
)


@dataclass(frozen=True)
class Completion:
    """The statements with the role each runs in after completion, and what was inferred."""

    statements: tuple[RoledStatement, ...]
    inferred: tuple[Inference, ...]
    inferred_ids: frozenset[int]  # ``id`` of every statement that joined a stage
    # With --strict: the untagged statements that advance a global generator a stage reads
    # (they are not pulled in, and the package's draws will differ from the notebook's).
    generator_warnings: tuple[Inference, ...] = ()


def complete_stages(
    statements: Sequence[RoledStatement],
    display: DisplayScan,
    *,
    strict: bool = False,
    notebook_dir: Path | None = None,
) -> Completion:
    """Give each untagged statement a stage needs the role of the earliest stage needing it.

    Args:
        statements: every statement of the code cells, in notebook order, with its cell's role.
        display: the display-only statements (they need nothing and provide nothing).
        strict: complete nothing (``--strict``): the walk then reports every read of untagged
            code as an error, and the generator draws left out are returned as warnings.
        notebook_dir: where the notebook's own modules are (``helpers.py``), to see whether
            their functions draw from a global generator.
    """
    generators = GeneratorScan([statement for statement, _ in statements], notebook_dir)
    as_written = tuple(statements)
    statements = _draws_kept_from_display(statements, display, generators)
    reaching = _reaching_definitions(statements, generators)
    if strict:
        return Completion(
            as_written, (), frozenset(), _strict_generator_warnings(statements, reaching)
        )
    joined: dict[int, str] = {}  # statement index → the role it joins
    reasons: dict[int, str] = {}
    # Statements kept for the generator's state are placed by position: each joins the stage
    # of the first tagged cell after it (unless a stage needs it earlier), so the draws keep
    # their notebook order against the stages' own code, and what they bind is rebound by the
    # later stage code as it was in the notebook (skt 02.2: an iris split before the digits
    # load must not run after it, in train, and clobber the load's `Xtrain`).
    by_generator: set[int] = set()
    next_stage = _next_tagged_stage(statements)
    # Backwards: every statement that needs statement j comes after it, so its role is final
    # by the time j is reached.
    for index in reversed(range(len(statements))):
        statement, role = statements[index]
        if statement.kind != CODE or display.shows_only(statement):
            continue
        stage = role if role in roles.TAGGED_STAGES else joined.get(index)
        if stage is None:
            continue
        for name, source in sorted(reaching[index].items()):
            provider, provider_role = statements[source]
            if provider_role is not None or provider.kind != CODE:
                continue
            if display.shows_only(provider):
                continue
            needed_by = stage
            if needed_by == roles.PREDICT and fits(provider.node):
                needed_by = roles.TRAIN
            if name in GENERATOR_LABELS or index in by_generator:
                positional = next_stage[source]
                if positional is not None and roles.run_order(positional) < roles.run_order(
                    needed_by
                ):
                    needed_by = positional
                by_generator.add(source)
            current = joined.get(source)
            if current is not None and roles.run_order(current) <= roles.run_order(needed_by):
                continue
            joined[source] = needed_by
            how = f"the {stage} stage" if index not in joined else f"inferred {stage} code"
            reasons[source] = (
                _advances(name, how, statement)
                if name in GENERATOR_LABELS
                else (
                    f"provides `{name}`, which {how} reads in cell {cell_number(statement.cell)}, "
                    f"line {statement.line}"
                )
            )
    completed = tuple(
        (statement, joined.get(index, role)) for index, (statement, role) in enumerate(statements)
    )
    inferred = tuple(
        Inference(statements[index][0].cell, statements[index][0].line, stage, reasons[index])
        for index, stage in sorted(joined.items())
    )
    ids = frozenset(id(statements[index][0]) for index in joined)
    return Completion(completed, inferred, ids)


def fits(node: cst.CSTNode) -> bool:
    """Whether code calls a fitting method (``model.fit(X, y)``, ``LinearRegression().fit``)."""
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Attribute(self, attribute: cst.Attribute) -> None:
            nonlocal found
            if attribute.attr.value in FITTING_METHODS:
                found = True

    node.visit(Finder())
    return found


def _next_tagged_stage(statements: Sequence[RoledStatement]) -> list[str | None]:
    """For each statement, the stage of the first statement after it in a tagged stage cell."""
    found: list[str | None] = [None] * len(statements)
    following: str | None = None
    for index in reversed(range(len(statements))):
        found[index] = following
        role = statements[index][1]
        if role in roles.TAGGED_STAGES:
            following = role
    return found


def _draws_kept_from_display(
    statements: Sequence[RoledStatement], display: DisplayScan, generators: GeneratorScan
) -> list[RoledStatement]:
    """Display-only statements that draw, replaced by their draws alone.

    ``plt.scatter(x, y, c=np.random.rand(50))`` shows something, but its draw moves the
    generator a later fit reads: the statement becomes ``np.random.rand(50)``, in its place,
    so the draw can be kept while the plot stays out. When a draw's arguments read what
    display code made (``fig``, ``ax``), the statement stays display-only (its draw is lost).
    """
    shown = {name for st, _ in statements if display.shows_only(st) for name in st.defines}
    result: list[RoledStatement] = []
    for statement, role in statements:
        calls = generators.draw_calls.get(id(statement), [])
        if statement.kind == CODE and calls and display.shows_only(statement):
            code = "\n".join(cst.Module([]).code_for_node(call) for call in calls) + "\n"
            drawn = [
                dataclasses.replace(st, line=statement.line, position=statement.position)
                for st in parse_cell(statement.cell, code).statements
            ]
            if not any(st.reads & shown for st in drawn):
                use = generators.uses[id(statement)]
                for st in drawn:
                    generators.uses[id(st)] = use
                result.extend((st, role) for st in drawn)
                continue
        result.append((statement, role))
    return result


def _advances(generator: str, how: str, reader: Statement) -> str:
    return (
        f"advances {GENERATOR_LABELS[generator]}, which {how} draws from in cell "
        f"{cell_number(reader.cell)}, line {reader.line}; `random_state=` on the estimators "
        "(or a seeded generator of its own) avoids this"
    )


def _strict_generator_warnings(
    statements: Sequence[RoledStatement], reaching: Sequence[dict[str, int]]
) -> tuple[Inference, ...]:
    """Under --strict: the untagged statements whose generator draws a stage reads."""
    found: dict[int, Inference] = {}
    for index, (statement, role) in enumerate(statements):
        if role not in roles.TAGGED_STAGES:
            continue
        for name, first in reaching[index].items():
            if name not in GENERATOR_LABELS:
                continue
            # Every untagged draw back to the last reseed or tagged statement.
            reader, how = statement, f"the {role} stage"
            source: int | None = first
            while source is not None and statements[source][1] is None and source not in found:
                provider = statements[source][0]
                found[source] = Inference(
                    provider.cell, provider.line, role, _advances(name, how, reader)
                )
                reader, how = provider, "untagged code"
                source = reaching[source].get(name)
    return tuple(found[source] for source in sorted(found))


def _reaching_definitions(
    statements: Sequence[RoledStatement], generators: GeneratorScan | None = None
) -> list[dict[str, int]]:
    """For each statement, the index of the statement whose value each name it uses has.

    A statement uses the names it reads and the names it changes in place (``df["a"] = …``
    needs ``df`` as it was). A change through an alias is a change of what it aliases:
    after ``frames = [train, test]``, ``for frame in frames: frame["a"] = …`` changes
    ``train`` and ``test`` too, so it is their reaching definition.
    """
    latest: dict[str, int] = {}
    aliases: dict[str, frozenset[str]] = {}
    reaching: list[dict[str, int]] = []
    for index, (statement, _role) in enumerate(statements):
        aliased = _alias_targets(statement.node, aliases)
        changed = set(statement.mutates)
        if generators is not None:
            # A draw reads the generator's state and leaves a new one; a reseed only sets it.
            use = generators.uses.get(id(statement))
            if use is not None:
                changed |= set(use.draws)
                for generator in use.reseeds - set(use.draws):
                    latest[generator] = index
        # `for frame in frames: frame["a"] = …` changes its own loop variable, which
        # `mutates` leaves out (the statement binds it), and through it what it aliases.
        for name in mutated_names(statement.node) if statement.kind == CODE else ():
            changed |= aliases.get(name, frozenset()) | aliased.get(name, frozenset())
        used = statement.reads | changed
        reaching.append({name: latest[name] for name in used if name in latest})
        for name in statement.defines | changed:
            previous = latest.get(name)
            if (
                name in statement.mutates
                and previous is not None
                and statements[previous][0].kind != CODE
            ):
                continue  # `pd.set_option(...)` configures a module; it does not redefine it
            latest[name] = index
        for name in statement.defines - statement.mutates:
            aliases.pop(name, None)  # rebound: no longer an alias of what it was
        aliases.update(aliased)
    return reaching


def _alias_targets(
    node: cst.BaseStatement, aliases: dict[str, frozenset[str]]
) -> dict[str, frozenset[str]]:
    """The names a statement makes aliases, and of what: ``a = b``, ``a = [b, c]`` (a list
    or tuple of names holds those very objects), ``for a in b:`` (each ``a`` is an element
    of ``b``, so aliases what ``b``'s elements alias)."""

    def referents(value: cst.BaseExpression) -> frozenset[str]:
        if isinstance(value, cst.Name):
            return frozenset({value.value}) | aliases.get(value.value, frozenset())
        if isinstance(value, (cst.List, cst.Tuple)):
            found: frozenset[str] = frozenset()
            for element in value.elements:
                if isinstance(element, cst.Element):
                    found |= referents(element.value)
            return found
        return frozenset()

    if isinstance(node, cst.For) and isinstance(node.target, cst.Name):
        found = referents(node.iter)
        return {node.target.value: found} if found else {}
    if not isinstance(node, cst.SimpleStatementLine):
        return {}
    result: dict[str, frozenset[str]] = {}
    for small in node.body:
        if isinstance(small, cst.Assign):
            found = referents(small.value)
            for target in small.targets:
                if found and isinstance(target.target, cst.Name):
                    result[target.target.value] = found
    return result
