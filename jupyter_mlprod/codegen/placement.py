"""Helper placement: the generated module each carried function, class and constant lands in.

Self-contained: it reads only its arguments (the analysis's carried statements and stage
plans) and the stage table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .. import roles
from ..analysis import StagePlan, Statement
from ..analysis.statements import CLASS, CODE, FUNCTION

# Shared code (classes, whatever predict needs, whatever several modules use) lives here.
SHARED_MODULE = "features"


@dataclass(frozen=True)
class Helper:
    """A function, class or constant carried into the package, and the module it lands in."""

    statement: Statement
    module: str  # "features", "data", "train" or "pipeline"


def place_helpers(
    carried: Iterable[Statement],
    plans: Iterable[StagePlan],
    pinned: frozenset[str] = frozenset(),
) -> tuple[Helper, ...]:
    """Decide the module of each carried function, class and constant.

    Classes and everything predict needs go to ``features`` (a pickled model must find its
    classes without importing training code); a function used by one stage stays with that
    stage's module, unless the module binds the same name itself, or the stage's code does
    (`model(x)` then `model = LinearRegression()`): the stage then calls it through
    ``features``. A constant sits beside the helpers that read it: in their module when they
    share one, else in ``features``. Constants bound to each run's parameters (``pinned``:
    ``--lift-paths``) and the helpers reading them live in ``features`` too, where one
    function binds them (a name imported from another module would keep its old value).

    Args:
        carried: the functions and classes the stages need and the constants they read (other
            statements are ignored).
        plans: the stage plans whose statements use them.
        pinned: the names of lifted constants and of the constants computed from them.

    Returns:
        One :class:`Helper` per function, class or constant, in notebook order.
    """
    carried = tuple(carried)
    constants = [st for st in carried if st.kind == CODE]
    definitions = [st for st in carried if st.kind in {FUNCTION, CLASS}]
    by_name = {name: st for st in definitions for name in st.defines}
    users: dict[int, set[str]] = {}
    # The names each module's stage code binds: local names of its stage functions.
    bound: dict[str, set[str]] = {}
    for plan in plans:
        module = roles.stage_spec(plan.role).module
        for statement in plan.statements:
            bound.setdefault(module, set()).update(statement.defines - statement.mutates)
            for name in statement.reads:
                helper = by_name.get(name)
                if helper is not None:
                    users.setdefault(id(helper), set()).add(module)
    # A helper used by another helper inherits its users (to a fixed point).
    changed = True
    while changed:
        changed = False
        for helper in definitions:
            for name in helper.reads | helper.deferred_reads:
                callee = by_name.get(name)
                if callee is None or callee is helper:
                    continue
                before = len(users.setdefault(id(callee), set()))
                users[id(callee)] |= users.get(id(helper), set())
                changed = changed or len(users[id(callee)]) != before
    predict_module = roles.stage_spec(roles.PREDICT).module
    helpers = []
    for statement in sorted(definitions, key=lambda st: (st.cell, st.position)):
        used_by = users.get(id(statement), set())
        if (
            statement.kind == CLASS
            or predict_module in used_by
            or len(used_by) != 1
            or (statement.reads | statement.deferred_reads) & pinned
        ):
            module = SHARED_MODULE
        else:
            (module,) = used_by
            if statement.defines & (roles.RESERVED_NAMES[module] | bound.get(module, set())):
                module = SHARED_MODULE  # `def train(...)` cannot live beside the stage's train()
        helpers.append(Helper(statement, module))
    helpers += _place_constants(constants, helpers, pinned)
    return tuple(sorted(helpers, key=lambda h: (h.statement.cell, h.statement.position)))


def _place_constants(
    constants: list[Statement], placed: list[Helper], pinned: frozenset[str]
) -> list[Helper]:
    """Each constant goes where its readers (helpers, or later constants) landed."""
    readers = [(h.statement, h.module) for h in placed]
    result: list[Helper] = []
    # Backwards: a constant's readers come after it, so their modules are known when it is met.
    for constant in sorted(constants, key=lambda st: (st.cell, st.position), reverse=True):
        modules = {
            module
            for reader, module in readers
            if constant.defines & (reader.reads | reader.deferred_reads)
        }
        module = modules.pop() if len(modules) == 1 else SHARED_MODULE
        if constant.defines & pinned:
            module = SHARED_MODULE
        helper = Helper(constant, module)
        result.append(helper)
        readers.append((constant, module))
    return result
