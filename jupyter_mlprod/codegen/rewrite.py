"""CST rewriting: notebook statements moved, with LibCST, into the bodies of generated functions.

Moving nodes rather than text keeps comments, strings and nesting exactly as the notebook had
them. The only changes are replacements of single nodes (a name read becomes
``params.<name>``, a path literal becomes its lifted parameter), decided by the caller.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Mapping

import libcst as cst

from ..analysis import Statement

# An attribute access to generate, as (owner, attribute): ("params", "C") is `params.C`.
AttributeAccess = tuple[str, str]


class ReplaceNodes(cst.CSTTransformer):
    """Replace names and string literals, chosen by node identity, with given expressions."""

    def __init__(self, replacements: Mapping[int, cst.BaseExpression]) -> None:
        self.replacements = replacements

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        return self.replacements.get(id(original_node), updated_node)

    def leave_SimpleString(
        self, original_node: cst.SimpleString, updated_node: cst.SimpleString
    ) -> cst.BaseExpression:
        return self.replacements.get(id(original_node), updated_node)


def attribute(access: AttributeAccess) -> cst.Attribute:
    """The expression ``owner.attribute``."""
    owner, name = access
    return cst.Attribute(value=cst.Name(owner), attr=cst.Name(name))


def rewrite_statement(
    statement: Statement,
    names: Mapping[str, AttributeAccess],
    strings: Mapping[str, AttributeAccess],
) -> cst.BaseStatement:
    """The statement's node with each read of a name in ``names`` and each string literal whose
    value is in ``strings`` replaced by the given attribute access (the node itself if none)."""
    replacements: dict[int, cst.BaseExpression] = {}
    for name, node in statement.read_nodes:
        if name in names:
            replacements[id(node)] = attribute(names[name])
    for value, _line, string in statement.strings:
        if value in strings:
            replacements[id(string)] = attribute(strings[value])
    if not replacements:
        return statement.node
    return typing.cast(cst.BaseStatement, statement.node.visit(ReplaceNodes(replacements)))


def function_source(
    name: str,
    arguments: str,
    returns: str,
    head: Iterable[str],
    statements: Iterable[cst.BaseStatement],
    tail: Iterable[str],
) -> str:
    """The source of a function whose body is the ``head`` lines, the statements, then the
    ``tail`` lines (``pass`` when all are empty)."""
    body: list[cst.BaseStatement] = [cst.parse_statement(line + "\n") for line in head]
    for index, node in enumerate(statements):
        if index == 0 and isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            # Blank lines that opened the cell would open the function body: drop them, keep
            # comments.
            lines = list(node.leading_lines)
            while lines and lines[0].comment is None:
                lines.pop(0)
            node = node.with_changes(leading_lines=lines)
        body.append(node)
    body += [cst.parse_statement(line + "\n") for line in tail]
    if not body:
        body = [cst.parse_statement("pass\n")]
    stub = cst.parse_statement(f"def {name}({arguments}) -> {returns}:\n    pass\n")
    assert isinstance(stub, cst.FunctionDef)
    function = stub.with_changes(body=cst.IndentedBlock(body=body))
    return cst.Module(body=[function]).code
