"""Module-level constants: the assignments a carried helper may bring along as constants of
its module (``DATA_PATH = os.path.join(ROOT, "data.csv")``, ``a_ix, b_ix = 3, 4``).

A constant is computed from literals, imports and other constants only, is assigned once in
the whole notebook and never changed in place: anything else (a frame read from a file, a
fitted model, a value changed later) is runtime state a helper must be given as an argument.
"""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst

from .statements import CODE, IMPORT, Statement, callee_name

# Calls that read files or the outside world: their result is data, not a constant.
_READER_PREFIXES = ("read_", "load_", "fetch_", "open", "download")
_READER_NAMES = frozenset({"imread", "input", "urlopen", "get", "post", "query", "execute"})


def find_constants(statements: Iterable[Statement]) -> frozenset[int]:
    """The ``id`` of every statement that assigns module-level constants, in notebook order."""
    ordered = list(statements)
    definers: dict[str, list[Statement]] = {}
    for statement in ordered:
        for name in statement.defines:
            definers.setdefault(name, []).append(statement)
    imported = {name for st in ordered if st.kind == IMPORT for name in st.defines}
    # A name some function declares `global` changes whenever that function runs.
    declared_global = {name for st in ordered for name in st.fact(_global_declarations)}
    constant_names: set[str] = set()
    found: set[int] = set()
    for statement in ordered:
        if statement.kind != CODE or statement.mutates or not _is_plain_assignment(statement):
            continue
        if statement.defines & declared_global or any(
            definers[name] != [statement] for name in statement.defines
        ):
            continue  # assigned again or changed later: its value depends on when it is read
        if not statement.reads <= imported | constant_names or _reads_outside(statement.node):
            continue
        found.add(id(statement))
        constant_names |= statement.defines
    return frozenset(found)


def _global_declarations(node: cst.BaseStatement) -> frozenset[str]:
    """The names any ``global`` statement in the node declares (kept in the statement's
    facts: the walk is the same on every analysis while the cell is unchanged)."""
    names: set[str] = set()

    class Finder(cst.CSTVisitor):
        def visit_Global(self, declaration: cst.Global) -> None:
            names.update(item.name.value for item in declaration.names)

    node.visit(Finder())
    return frozenset(names)


def _is_plain_assignment(statement: Statement) -> bool:
    node = statement.node
    if not isinstance(node, cst.SimpleStatementLine) or len(node.body) != 1:
        return False
    small = node.body[0]
    if isinstance(small, cst.AnnAssign):
        return small.value is not None and isinstance(small.target, cst.Name)
    if not isinstance(small, cst.Assign):
        return False
    return all(_names_only(target.target) for target in small.targets)


def _names_only(target: cst.BaseExpression) -> bool:
    if isinstance(target, cst.Name):
        return True
    if isinstance(target, (cst.Tuple, cst.List)):
        return all(_names_only(element.value) for element in target.elements)
    return False


def _reads_outside(node: cst.CSTNode) -> bool:
    """Whether an expression calls something that reads files, the network or the user."""
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            nonlocal found
            name = callee_name(call)
            if name is None:
                return
            if name.startswith(_READER_PREFIXES) or name in _READER_NAMES:
                found = True

        def visit_Await(self, node: cst.Await) -> None:
            nonlocal found
            found = True

    node.visit(Finder())
    return found
