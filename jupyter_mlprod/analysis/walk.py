"""The definition/use walk: link every name a stage reads to the statement that defined it,
and carry along the imports, functions and classes the stages need.

Code cells are walked in notebook order, statement by statement, keeping for every name the
statement that last defined it. A stage statement (of a tagged cell, or one the stage
completion added) that reads a name is linked to that definition; imports, functions and
classes are carried along wherever they are needed, with the module-level constants they read
(:mod:`.constants`), while a *variable* that only a skipped cell defines (or, with
``--strict``, an untagged one) is an error, because the package would not have it.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import libcst as cst

from .. import roles
from ..errors import cell_number
from .completion import Completion
from .display import DisplayScan
from .intake import Intake
from .log import ProblemLog
from .statements import CLASS, CODE, FUNCTION, IMPORT, ImportBinding, Statement
from .types import ERROR, WARNING, Definition, Flow

BUILTINS = frozenset(dir(builtins)) | {"__name__", "__file__", "display", "get_ipython"}
DEFINITION_KINDS = frozenset({IMPORT, FUNCTION, CLASS})


@dataclass(frozen=True)
class Walked:
    """What the walk found: the definition behind each read, and what the stages need."""

    # The intake's statements, with the role each runs in (after stage completion).
    statements: tuple[tuple[Statement, str | None], ...]
    # For each stage code statement (by ``id``): the definition each read name resolved to.
    resolved: Mapping[int, Mapping[str, Definition]]
    # The imports, functions and classes the stages need, in the order they were needed.
    needed: tuple[Statement, ...]
    flows: tuple[Flow, ...]
    display_only: tuple[Statement, ...]  # display-only statements of stage cells
    display_ids: frozenset[int]  # ``id`` of every display-only statement, in any cell
    constants: frozenset[int] = frozenset()  # ``id`` of every statement assigning constants

    def reads_of(self, statement: Statement) -> Mapping[str, Definition]:
        """The definitions a stage code statement's reads resolved to."""
        return self.resolved.get(id(statement), {})

    def stage_code(self, role: str) -> list[Statement]:
        """The code statements of a role's cells that are not display-only."""
        return [
            statement
            for statement, statement_role in self.statements
            if statement_role == role
            and statement.kind == CODE
            and id(statement) not in self.display_ids
        ]

    @property
    def carried(self) -> tuple[Statement, ...]:
        """The functions and classes the stages need, and the constants they read (``code``
        statements), in notebook order."""
        return tuple(
            sorted(
                (st for st in self.needed if st.kind != IMPORT),
                key=lambda st: (st.cell, st.position),
            )
        )


class _Walker:
    """The mutable state of one walk."""

    def __init__(
        self, intake: Intake, completion: Completion, constants: frozenset[int], log: ProblemLog
    ) -> None:
        self.intake = intake
        self.completion = completion
        self.constants = constants
        self.log = log
        self.resolved: dict[int, dict[str, Definition]] = {}
        self.history: dict[str, list[Definition]] = {}
        self.needed: dict[int, Statement] = {}
        self.flows: list[Flow] = []
        self.display: list[Statement] = []
        self.display_ids: set[int] = set()


def walk_flow(
    intake: Intake,
    completion: Completion,
    display: DisplayScan,
    constants: frozenset[int],
    log: ProblemLog,
) -> Walked:
    """Walk the statements in notebook order, resolving what each stage statement reads.

    Args:
        intake: the notebook's cells and parameters.
        completion: the statements with the roles they run in.
        display: the display-only statements (left out of stages, reported).
        constants: the ``id`` of each statement assigning constants a helper may carry.
        log: where problems go.
    """
    walker = _Walker(intake, completion, constants, log)
    env: dict[str, Definition] = {
        spec.name: Definition(spec.name, None, roles.PARAMETERS) for spec in intake.parameters
    }
    walker.display_ids.update(display.statement_ids)
    for statement, role in completion.statements:
        if display.shows_only(statement):
            if role in roles.TAGGED_STAGES:
                walker.display.append(statement)
            continue
        if role in roles.TAGGED_STAGES and statement.kind == CODE:
            walker.resolved[id(statement)] = _resolve_reads(walker, statement, role, env)
        for name in statement.defines:
            previous = env.get(name)
            if name in statement.mutates and previous is not None and previous.kind != CODE:
                continue  # `pd.set_option(...)` configures a module; it does not redefine it
            entry = Definition(name, statement, role)
            env[name] = entry
            walker.history.setdefault(name, []).append(entry)
    return Walked(
        statements=completion.statements,
        resolved=walker.resolved,
        needed=tuple(walker.needed.values()),
        flows=tuple(walker.flows),
        display_only=tuple(walker.display),
        display_ids=frozenset(walker.display_ids),
        constants=constants,
    )


def report_redefined_helpers(carried: Iterable[Statement], log: ProblemLog) -> None:
    """Two versions of one helper used by the stages cannot both live in the package."""
    first: dict[str, Statement] = {}
    for statement in sorted(carried, key=lambda st: (st.cell, st.position)):
        if statement.kind not in {FUNCTION, CLASS}:
            continue
        for name in statement.defines:
            earlier = first.setdefault(name, statement)
            if earlier is not statement:
                log.add(
                    ERROR,
                    "helper-redefined",
                    f"`{name}` is defined again here after cell {cell_number(earlier.cell)}, and "
                    "the stages use both versions; the package can hold only one",
                    statement.cell,
                    statement.line,
                    hint="give the versions different names, or keep one definition",
                )


def used_imports(needed: Iterable[Statement]) -> tuple[ImportBinding, ...]:
    """The import binding of every imported name the stages and helpers need."""
    bindings: dict[str, ImportBinding] = {}
    for statement in needed:
        for binding in statement.imports:
            bindings[binding.name] = binding
    return tuple(sorted(bindings.values(), key=lambda b: b.name))


def _resolve_reads(
    walker: _Walker, statement: Statement, role: str, env: dict[str, Definition]
) -> dict[str, Definition]:
    log = walker.log
    resolved: dict[str, Definition] = {}
    for name in sorted(statement.reads):
        found = env.get(name)
        if found is None:
            if name not in BUILTINS:
                _report_undefined(walker, statement, role, name)
            continue
        if found.kind in DEFINITION_KINDS:
            if found.role == roles.SKIP and found.kind != IMPORT:
                _report_untagged(log, statement, role, found)
                continue
            _need_definition(walker, found.statement)
            resolved[name] = found
            continue
        if found.role in (None, roles.SKIP):
            earlier = _staged_definition_before(walker, name, role)
            if earlier is None:
                _report_untagged(log, statement, role, found)
                continue
            # An untagged cell is exploration the package leaves out: if it changes what a stage
            # reads, the package would compute something else than the notebook. A skipped
            # cell was left out on purpose, so it only warns.
            skipped = found.role == roles.SKIP
            log.add(
                WARNING if skipped else ERROR,
                "redefined-by-exploration",
                f"`{name}` is changed by {'skipped' if skipped else 'untagged'} cell "
                f"{cell_number(found.cell)} after cell {cell_number(earlier.cell)} "
                f"({earlier.role}); the package would use cell {cell_number(earlier.cell)}'s value",
                statement.cell,
                statement.line,
                hint=f"tag cell {cell_number(found.cell)} as `{earlier.role}` if the pipeline "
                "needs that change, or tag it `skip` if it must stay out",
            )
            found = earlier
        if roles.run_order(found.role or "") > roles.run_order(role):
            if id(statement) in walker.completion.inferred_ids:
                # Completion put this untagged statement in `role` because an earlier-running
                # stage needs it, yet it reads a value only a later-running stage makes.
                log.add(
                    ERROR,
                    "stage-order",
                    f"`{name}` would cross from {found.role} back to {role}: this untagged "
                    f"statement is needed by the {role} stage, but reads `{name}` from cell "
                    f"{cell_number(found.cell)} ({found.role}), and the package runs {role} before "
                    f"{found.role}",
                    statement.cell,
                    statement.line,
                    hint=f"tag cell {cell_number(statement.cell)} as `{found.role}` and move "
                    f"what the {role} stage needs from it into a {role} cell",
                )
                continue
            log.add(
                ERROR,
                "stage-order",
                f"this {role} cell reads `{name}` from cell {cell_number(found.cell)} "
                f"({found.role}), but the package runs {role} before {found.role}",
                statement.cell,
                statement.line,
                hint=f"move that code into a {found.role} cell or re-tag the cells",
            )
            continue
        resolved[name] = found
        if found.role not in (role, roles.PARAMETERS):
            walker.flows.append(Flow(name, found.role or "", found.cell, role, statement.cell))
    return resolved


def _staged_definition_before(walker: _Walker, name: str, role: str) -> Definition | None:
    for entry in reversed(walker.history.get(name, [])):
        if entry.role in roles.TAGGED_STAGES and roles.run_order(
            entry.role or ""
        ) <= roles.run_order(role):
            return entry
    return None


def _report_undefined(walker: _Walker, statement: Statement, role: str, name: str) -> None:
    statements = walker.intake.statements
    later = next(
        (st for st, _ in statements if name in st.defines and st.cell > statement.cell), None
    )
    star = next((st for st, _ in statements if st.kind == IMPORT and "import *" in st.code), None)
    if later is not None:
        hint = (
            f"cell {cell_number(later.cell)} defines it later; move that definition above this cell"
        )
    elif star is not None:
        hint = (
            f"`{star.summary}` (cell {cell_number(star.cell)}) may provide it, but `import *` "
            f"cannot be followed statically: import `{name}` by name"
        )
    else:
        hint = "define it in a tagged cell, or add the missing import"
    walker.log.add(
        ERROR,
        "undefined-name",
        f"the {role} stage reads `{name}`, which no earlier cell defines",
        statement.cell,
        statement.line,
        hint=hint,
    )


def _cell_text(cell: int, parameters_cell: int | None) -> str:
    """``cell 6`` as people read it; a parameter's definition (cell -1) names the parameters
    cell."""
    index = cell if cell >= 0 else parameters_cell
    return "the parameters" if index is None else f"cell {cell_number(index)}"


def _report_untagged(log: ProblemLog, statement: Statement, role: str, found: Definition) -> None:
    if found.role == roles.SKIP:
        log.add(
            ERROR,
            "untagged-variable",
            f"the {role} stage (cell {cell_number(statement.cell)}) reads `{found.name}`, which "
            f"only skipped cell {cell_number(found.cell)} defines; a skipped cell is never pulled "
            "into a stage",
            statement.cell,
            statement.line,
            hint=f"untag cell {cell_number(found.cell)} (or tag it `{role}`) if the pipeline needs "
            f"`{found.name}`, or define it in a tagged cell",
        )
        return
    log.add(
        ERROR,
        "untagged-variable",
        f"the {role} stage reads `{found.name}`, which only untagged cell "
        f"{cell_number(found.cell)} defines",
        statement.cell,
        statement.line,
        hint=f"tag cell {cell_number(found.cell)} as `load` (or the stage it belongs to), or "
        "move that code into a tagged cell",
    )


def _need_definition(walker: _Walker, statement: Statement | None) -> None:
    """Carry a function/class/import along, with the definitions it needs in turn."""
    pending = [statement]
    while pending:
        current = pending.pop()
        if current is None or id(current) in walker.needed:
            continue
        walker.needed[id(current)] = current
        if current.kind == IMPORT:
            continue
        for name in sorted(current.reads | current.deferred_reads):
            # The latest definition so far: the walk has not gone past this statement yet.
            found = _definition_in_history(walker, name)
            if found is None or name in BUILTINS:
                continue
            if found.kind in DEFINITION_KINDS and found.role != roles.SKIP:
                pending.append(found.statement)
            elif (
                found.statement is not None
                and id(found.statement) in walker.constants
                and found.role != roles.SKIP
            ):
                pending.append(found.statement)  # a constant: it lands beside the helper
            elif found.statement is not current:
                what = "function" if current.kind == FUNCTION else "class"
                walker.log.add(
                    ERROR,
                    "helper-reads-global",
                    f"{what} `{_defined_name(current)}` reads the global variable `{name}` "
                    f"({_cell_text(found.cell, walker.intake.parameters_cell)}), "
                    "which is runtime state, not a constant (it is computed from data or "
                    "parameters, skipped, or changed after it is assigned)",
                    current.cell,
                    current.line,
                    hint=f"pass `{name}` to it as an argument so the package can call it",
                )


def _definition_in_history(walker: _Walker, name: str) -> Definition | None:
    entries = walker.history.get(name)
    if entries:
        return entries[-1]
    if any(spec.name == name for spec in walker.intake.parameters):
        return Definition(name, None, roles.PARAMETERS)
    return None


def _defined_name(statement: Statement) -> str:
    node = statement.node
    if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
        return node.name.value
    return ", ".join(sorted(statement.defines))
