"""Statement gathering: split a cell into top-level statements and gather, for each, the names
it defines, changes in place and reads from outside itself.

This module only *gathers* (LibCST visitors with declared metadata, results as values); it
never changes code. LibCST's scope analysis already resolves each access to the assignments
that precede it in the cell, so a statement reads a name "from outside" exactly when none of
the assignments its access refers to lies inside that same statement.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeVar

import libcst as cst
from libcst._metadata_dependent import _UNDEFINED_DEFAULT
from libcst.metadata import (
    BaseMetadataProvider,
    BuiltinAssignment,
    ExpressionContextProvider,
    GlobalScope,
    MetadataWrapper,
    ProviderT,
    ScopeProvider,
)

# Statement kinds. Definitions (imports, functions, classes) are carried to wherever they are
# needed; only "code" statements run inside a stage function.
StatementKind = Literal["import", "function", "class", "code"]
IMPORT: Final = "import"
FUNCTION: Final = "function"
CLASS: Final = "class"
CODE: Final = "code"

# Modules whose use marks a statement as display-only (plots, rich display).
DISPLAY_MODULES = frozenset(
    {"matplotlib", "seaborn", "plotly", "IPython", "bokeh", "altair", "missingno", "yellowbrick"}
)
DISPLAY_FUNCTIONS = frozenset({"print", "display", "pprint"})
# Methods that change their receiver even when their result is assigned to another name.
MUTATING_METHODS = frozenset(
    {"fit", "partial_fit", "fit_transform", "fit_predict", "train", "eval", "compile",
     "load_state_dict", "set_params", "append", "extend", "insert", "update", "add", "pop",
     "remove", "clear", "sort", "reverse", "setdefault", "popitem", "discard", "to", "step",
     "zero_grad", "seed", "shuffle", "build", "load_weights"}
)  # fmt: skip
# Functions that change their first argument in place.
ARGUMENT_MUTATING = frozenset({"shuffle", "fill_diagonal", "copyto", "put", "place", "putmask"})
# Functions of display modules that read data rather than show it.
DATA_READERS = frozenset({"imread", "load_dataset", "get_dataset_names"})
# Methods called for their printed or plotted result, never for an effect production needs.
DISPLAY_METHODS = frozenset(
    {
        "head", "tail", "describe", "info", "plot", "hist", "boxplot", "show", "value_counts",
        "sample", "corr", "nunique", "unique", "isna", "isnull", "memory_usage", "scatter",
        "bar", "barh", "pie", "imshow", "heatmap", "pairplot", "savefig", "style", "to_string",
        "summary", "print", "display", "groupby", "mean", "median", "sum", "count", "agg",
        "sort_values", "query", "pivot_table", "skew", "std", "min", "max", "quantile", "dtypes",
        "to_markdown", "get_params", "score", "predict", "predict_proba", "decision_function",
    }
)  # fmt: skip


@dataclass(frozen=True)
class ImportBinding:
    """One name bound by an import: ``import a.b`` binds ``a``; ``from a import b as c``, ``c``."""

    name: str
    module: str
    imported: str | None  # None for `import module`
    asname: str | None
    level: int = 0  # relative import dots

    def render(self) -> str:
        """The import statement that binds exactly this name."""
        alias = f" as {self.asname}" if self.asname else ""
        if self.imported is None:
            return f"import {self.module}{alias}"
        return f"from {'.' * self.level}{self.module} import {self.imported}{alias}"

    @property
    def root(self) -> str:
        """The top-level module (the distribution lookup key)."""
        return self.module.split(".")[0]


_T = TypeVar("_T")


class StatementFacts:
    """What later steps learn from a statement's tree alone (its ``global`` names, its calls),
    kept with the statement.

    A statement lives in its cell's cached parse (:mod:`.cache`) for as long as the cell's
    source is unchanged, so a fact computed once here is not computed again on the next
    analysis: walking every statement's tree on every call was most of a warm analysis.
    Only facts that depend on the node alone belong here, never on other statements.
    """

    __slots__ = ("found",)

    def __init__(self) -> None:
        self.found: dict[Callable[[cst.BaseStatement], object], object] = {}


@dataclass(frozen=True)
class Statement:
    """One top-level statement of a cell and its data flow."""

    cell: int
    position: int  # index among the cell's statements
    line: int  # 1-based line in the cell (after leading comments)
    node: cst.BaseStatement
    code: str
    kind: StatementKind
    defines: frozenset[str]  # assigned, imported or changed in place
    mutates: frozenset[str]  # changed in place (`df["a"] = …`, `model.fit(…)`)
    reads: frozenset[str]
    # Names the statement reads at call time (function bodies, class methods).
    deferred_reads: frozenset[str]
    imports: tuple[ImportBinding, ...]
    display_only: bool
    # Name nodes of global reads, by name (for rewriting, e.g. parameters → params.x).
    read_nodes: tuple[tuple[str, cst.Name], ...]
    # String literals (value, 1-based cell line, node): the candidates for hard-coded paths.
    strings: tuple[tuple[str, int, cst.SimpleString], ...]
    # Shared by the copies `dataclasses.replace` makes: they keep the same node.
    facts: StatementFacts = field(default_factory=StatementFacts, compare=False, repr=False)

    def fact(self, compute: Callable[[cst.BaseStatement], _T]) -> _T:
        """``compute(self.node)``, computed the first time it is asked for and then kept with
        the statement (see :class:`StatementFacts`): ``compute`` must read the node only.

        Two threads may both compute a fact the first time; they compute the same value.
        """
        try:
            return typing.cast("_T", self.facts.found[compute])
        except KeyError:
            value = compute(self.node)
            self.facts.found[compute] = value
            return value

    @property
    def summary(self) -> str:
        """The statement's first code line, for reports."""
        lines = [line.strip() for line in self.code.splitlines()]
        body = [line for line in lines if line and not line.startswith("#")]
        return body[0] if body else ""


@dataclass(frozen=True)
class ParsedCell:
    """A cell's module (plain Python) and its top-level statements."""

    module: cst.Module
    statements: tuple[Statement, ...]


def parse_cell(cell_index: int, python: str) -> ParsedCell:
    """Parse plain Python (see :mod:`jupyter_mlprod.ipython`) and gather its statements.

    Raises:
        libcst.ParserSyntaxError: the cell is not valid Python.
    """
    module = cst.parse_module(python)
    # Only the scope provider is resolved: each provider costs a fixed set-up per module, and
    # statement ownership and line numbers are cheap to derive from the tree itself.
    scopes = MetadataWrapper(module, unsafe_skip_copy=True).resolve(_Scopes)
    owners: dict[int, int] = {}
    # One walk per statement for both its nodes' owner and its string literals.
    walks = [_Owner(owners, index) for index in range(len(module.body))]
    for statement, walk in zip(module.body, walks, strict=True):
        statement.visit(walk)
    codes = [module.code_for_node(statement) for statement in module.body]
    lines = _statement_lines(module, codes)

    def owner(node: cst.CSTNode | None) -> int | None:
        return None if node is None else owners.get(id(node))

    global_scope = scopes.get(module)
    reads: list[set[str]] = [set() for _ in module.body]
    deferred: list[set[str]] = [set() for _ in module.body]
    read_nodes: list[list[tuple[str, cst.Name]]] = [[] for _ in module.body]
    for scope in {scope for scope in scopes.values() if scope is not None}:
        for access in scope.accesses:
            if not isinstance(access.node, cst.Name):
                continue
            owning = owner(access.node)
            if owning is None:
                continue
            referents = access.referents
            if any(isinstance(ref, BuiltinAssignment) for ref in referents):
                continue
            if any(not isinstance(ref.scope, GlobalScope) for ref in referents):
                continue  # a local of a function, class body or comprehension
            # The scope the name sits in (a `global x` access is filed under the global scope).
            deferred_scope = _in_deferred_scope(scopes.get(access.node) or scope)
            if not deferred_scope and any(
                owner(getattr(ref, "node", None)) == owning for ref in referents
            ):
                continue  # assigned earlier inside the same statement
            name = access.node.value
            if deferred_scope:
                deferred[owning].add(name)
            else:
                reads[owning].add(name)
                read_nodes[owning].append((name, access.node))
    defines: list[set[str]] = [set() for _ in module.body]
    if global_scope is not None:
        for assignment in global_scope.assignments:
            owning = owner(getattr(assignment, "node", None))
            if owning is not None:
                defines[owning].add(assignment.name.split(".")[0])
    strings: list[list[tuple[str, int, cst.SimpleString]]] = [[] for _ in module.body]
    for index, statement in enumerate(module.body):
        body_start = _leading_text_length(statement, codes[index])
        for string in walks[index].strings:
            value = string.evaluated_value
            if isinstance(value, str):
                offset = codes[index].find(string.value, body_start)
                extra = codes[index].count("\n", body_start, offset) if offset >= 0 else 0
                strings[index].append((value, lines[index] + extra, string))
    statements = []
    for index, node in enumerate(module.body):
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            # `global x` inside a def binds x only when called: the def defines its own name,
            # and needs x (`x += 1` reads it) from wherever the globals live.
            defines[index] = {node.name.value}
            globals_finder = _GlobalNames()
            node.visit(globals_finder)
            deferred[index] |= globals_finder.names
        mutated = mutated_names(node)
        imports = _import_bindings(node)
        statements.append(
            Statement(
                cell=cell_index,
                position=index,
                line=lines[index],
                node=node,
                code=codes[index],
                kind=_kind_of(node),
                defines=frozenset(defines[index] | mutated | {b.name for b in imports}),
                mutates=frozenset(mutated - defines[index]),
                reads=frozenset(reads[index]),
                deferred_reads=frozenset(deferred[index] - reads[index]),
                imports=imports,
                display_only=False,
                read_nodes=tuple(read_nodes[index]),
                strings=tuple(sorted(strings[index], key=lambda item: item[1])),
            )
        )
    return ParsedCell(module, tuple(statements))


# libcst finds a batched provider's visitor methods with `inspect.getmembers` on every
# resolve, about 3 ms per cell: half of a cold check. The methods are a class's own, so the
# two providers scope analysis needs find them once per class here.
_VisitorMethod = Callable[[cst.CSTNode], None]
_VISITOR_NAMES: dict[type[BaseMetadataProvider[Any]], tuple[str, ...]] = {}


def _visitors_of(
    provider: BaseMetadataProvider[Any], find: Callable[[], Mapping[str, _VisitorMethod]]
) -> dict[str, _VisitorMethod]:
    names = _VISITOR_NAMES.get(type(provider))
    if names is None:
        names = _VISITOR_NAMES.setdefault(type(provider), tuple(find()))
    return {name: getattr(provider, name) for name in names}


class _Contexts(ExpressionContextProvider):
    """libcst's expression contexts, with visitor methods found once."""

    def get_visitors(self) -> Mapping[str, _VisitorMethod]:
        return _visitors_of(self, super().get_visitors)


class _Scopes(ScopeProvider):
    """libcst's scope analysis, on :class:`_Contexts` instead of its own provider."""

    METADATA_DEPENDENCIES = (_Contexts,)

    @classmethod
    def get_inherited_dependencies(cls) -> tuple[ProviderT, ...]:
        # Not ScopeProvider's ExpressionContextProvider too: it would be resolved again.
        return (_Contexts,)

    def get_visitors(self) -> Mapping[str, _VisitorMethod]:
        return _visitors_of(self, super().get_visitors)

    def get_metadata(
        self,
        key: type[BaseMetadataProvider[_T]],
        node: cst.CSTNode,
        default: Any = _UNDEFINED_DEFAULT,
    ) -> _T:
        # libcst's scope visitor asks for ExpressionContextProvider by name.
        if key is ExpressionContextProvider:
            key = typing.cast("type[BaseMetadataProvider[_T]]", _Contexts)
        return super().get_metadata(key, node, default)


def is_display_call(node: cst.BaseStatement, display_names: set[str]) -> bool:
    """Whether a statement only shows something (a bare expression, print, a plot…).

    ``display_names`` holds names bound to display modules (``plt``) or to objects made by
    earlier display-only statements (``fig, ax``); using them makes a statement display, except
    to read data (``sns.load_dataset(...)``, ``plt.imread(...)``).
    """
    if not isinstance(node, cst.SimpleStatementLine):
        return False
    if not all(isinstance(small, (cst.Expr, cst.Assign, cst.AnnAssign)) for small in node.body):
        return False
    for small in node.body:
        value = typing.cast("cst.Expr | cst.Assign | cst.AnnAssign", small).value
        if value is None:
            return False
        if _uses_names(value, display_names) and not _reads_data(value):
            continue
        if isinstance(small, cst.Expr):
            if not isinstance(value, cst.Call):
                # A bare expression (`df`, `df.shape`, `x == y`) has no effect, except strings
                # (docstrings) and awaits, which are left alone.
                if isinstance(value, (cst.SimpleString, cst.ConcatenatedString, cst.Await)):
                    return False
                continue
            if _callee_is_display(value) and not _has_inplace(value):
                continue
            return False
        # An assignment is display-only when its value is a plot call.
        if isinstance(value, cst.Call) and _callee_is_display(value, methods_only_plot=True):
            continue
        return False
    return True


def _reads_data(node: cst.CSTNode) -> bool:
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            nonlocal found
            func = call.func
            name = (
                func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")
            )
            if isinstance(name, str) and (
                name in DATA_READERS or name.startswith(("read_", "load_"))
            ):
                found = True

    node.visit(Finder())
    return found


def display_bindings(imports: Iterable[ImportBinding]) -> set[str]:
    """Names bound to display or plotting modules by these imports."""
    return {binding.name for binding in imports if binding.root in DISPLAY_MODULES}


def _callee_is_display(call: cst.Call, *, methods_only_plot: bool = False) -> bool:
    func = call.func
    if isinstance(func, cst.Name):
        return not methods_only_plot and func.value in DISPLAY_FUNCTIONS
    if isinstance(func, cst.Attribute):
        attrs = _attribute_chain(func)
        if methods_only_plot:
            return bool({"plot", "hist", "boxplot", "scatter", "imshow", "heatmap"} & set(attrs))
        return bool(DISPLAY_METHODS & set(attrs))
    return False


def _has_inplace(call: cst.BaseExpression) -> bool:
    return isinstance(call, cst.Call) and any(
        arg.keyword is not None
        and arg.keyword.value == "inplace"
        and not (isinstance(arg.value, cst.Name) and arg.value.value == "False")
        for arg in call.args
    )


def _attribute_chain(node: cst.BaseExpression) -> list[str]:
    names: list[str] = []
    while True:
        if isinstance(node, cst.Attribute):
            names.append(node.attr.value)
            node = node.value
        elif isinstance(node, cst.Call):
            node = node.func
        elif isinstance(node, cst.Subscript):
            node = node.value
        else:
            return names


def _uses_names(node: cst.CSTNode, names: set[str]) -> bool:
    if not names:
        return False
    finder = _NameFinder(names)
    node.visit(finder)
    return finder.found


class _NameFinder(cst.CSTVisitor):
    def __init__(self, names: set[str]) -> None:
        self.names = names
        self.found = False

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)  # `x.plt` is not a use of `plt`
        return False

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in self.names:
            self.found = True


class _Owner(cst.CSTVisitor):
    """Records, for every node under a top-level statement, that statement's index, and the
    statement's string literals in order."""

    def __init__(self, owners: dict[int, int], index: int) -> None:
        self.owners = owners
        self.index = index
        self.strings: list[cst.SimpleString] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.owners[id(node)] = self.index
        if isinstance(node, cst.SimpleString):
            self.strings.append(node)
        return True


class _GlobalNames(cst.CSTVisitor):
    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Global(self, node: cst.Global) -> None:
        self.names |= {item.name.value for item in node.names}


def _statement_lines(module: cst.Module, codes: list[str]) -> list[int]:
    """1-based line of each top-level statement's first code line (after its comments)."""
    line = 1 + len(module.header)
    result = []
    for statement, code in zip(module.body, codes, strict=True):
        result.append(line + len(getattr(statement, "leading_lines", ())))
        line += code.count("\n")
    return result


def _leading_text_length(statement: cst.BaseStatement, code: str) -> int:
    """Where the statement's own code starts in its text (after leading comment lines)."""
    skip = len(getattr(statement, "leading_lines", ()))
    position = 0
    for _ in range(skip):
        position = code.index("\n", position) + 1
    return position


def _in_deferred_scope(scope: object) -> bool:
    # Code in a function (or a lambda inside it) runs when called, not when defined.
    current = scope
    while current is not None and not isinstance(current, GlobalScope):
        if type(current).__name__ == "FunctionScope":
            return True
        current = getattr(current, "parent", None)
    return False


def _kind_of(node: cst.BaseStatement) -> StatementKind:
    if isinstance(node, cst.FunctionDef) or _is_named_lambda(node):
        return FUNCTION
    if isinstance(node, cst.ClassDef):
        return CLASS
    if isinstance(node, cst.SimpleStatementLine) and all(
        isinstance(small, (cst.Import, cst.ImportFrom)) for small in node.body
    ):
        return IMPORT
    return CODE


def _is_named_lambda(node: cst.BaseStatement) -> bool:
    """``clean = lambda frame: ...``: a function by another spelling (and never an artifact)."""
    if not isinstance(node, cst.SimpleStatementLine) or len(node.body) != 1:
        return False
    small = node.body[0]
    return (
        isinstance(small, cst.Assign)
        and len(small.targets) == 1
        and isinstance(small.targets[0].target, cst.Name)
        and isinstance(small.value, cst.Lambda)
    )


def _import_bindings(node: cst.BaseStatement) -> tuple[ImportBinding, ...]:
    if not isinstance(node, cst.SimpleStatementLine):
        return ()
    bindings: list[ImportBinding] = []
    for small in node.body:
        if isinstance(small, cst.Import):
            for alias in small.names:
                dotted = _dotted(alias.name)
                asname = _asname(alias)
                bindings.append(ImportBinding(asname or dotted.split(".")[0], dotted, None, asname))
        elif isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
            module = _dotted(small.module) if small.module is not None else ""
            for alias in small.names:
                imported = _dotted(alias.name)
                asname = _asname(alias)
                bindings.append(
                    ImportBinding(asname or imported, module, imported, asname, len(small.relative))
                )
    return tuple(bindings)


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


def _asname(alias: cst.ImportAlias) -> str | None:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    return None


def mutated_names(node: cst.BaseStatement) -> set[str]:
    """Names a statement changes in place: ``df["a"] = …``, ``model.fit(…)``, ``x += …``.

    Nested blocks count (``for row in rows: preds.append(…)``); function and class bodies
    do not, since they run later, if at all.
    """
    if isinstance(node, cst.SimpleStatementLine):
        lines = [node]
    elif isinstance(node, (cst.FunctionDef, cst.ClassDef)):
        return set()
    else:
        collector = _SimpleLines()
        node.visit(collector)
        lines = collector.lines
    mutated: set[str] = set()
    for line in lines:
        mutated |= _mutated_in_line(line)
    return mutated


class _SimpleLines(cst.CSTVisitor):
    def __init__(self) -> None:
        self.lines: list[cst.SimpleStatementLine] = []

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
        self.lines.append(node)
        return False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False


def _mutated_in_line(node: cst.SimpleStatementLine) -> set[str]:
    mutated: set[str] = set()
    for small in node.body:
        targets: list[cst.BaseExpression] = []
        if isinstance(small, (cst.Assign, cst.AnnAssign)):
            targets = (
                [target.target for target in small.targets]
                if isinstance(small, cst.Assign)
                else [small.target]
            )
            # `history = model.fit(X, y)` fits `model` as well as binding `history`.
            value = small.value
            if (
                isinstance(value, cst.Call)
                and isinstance(value.func, cst.Attribute)
                and value.func.attr.value in MUTATING_METHODS
            ):
                targets.append(value.func)
        elif isinstance(small, cst.AugAssign):
            targets = [small.target]
        elif isinstance(small, cst.Del):
            # `del df["col"]` changes df; `del x` only forgets a name.
            targets = [
                element.value
                for element in (
                    small.target.elements if isinstance(small.target, cst.Tuple) else []
                )
            ] or [small.target]
        elif isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
            func = small.value.func
            if isinstance(func, cst.Attribute):
                method = func.attr.value
            else:
                method = func.value if isinstance(func, cst.Name) else ""
            # Most methods called as statements return a new object (`df.dropna()` changes
            # nothing); only known in-place methods, `inplace=True` and torch's `x.add_()`
            # style change their receiver.
            changes_receiver = (
                method in MUTATING_METHODS
                or _has_inplace(small.value)
                or (method.endswith("_") and not method.startswith("_"))
            )
            # `np.random.shuffle(indices)`, `nn.init.zeros_(w)`: the argument changes.
            if (method in ARGUMENT_MUTATING or method.endswith("_")) and small.value.args:
                root = root_name(small.value.args[0].value)
                if root is not None:
                    mutated.add(root)
            if isinstance(func, cst.Attribute) and changes_receiver:
                # A method called for its effect (`model.fit(X, y)`) changes its receiver.
                root = root_name(func.value)
                if root is not None:
                    mutated.add(root)
        for target in targets:
            root = root_name(target)
            if root is not None and not isinstance(target, cst.Name):
                mutated.add(root)
    return mutated


def callee_name(call: cst.Call) -> str | None:
    """The name a call calls: ``f`` for ``f(...)`` and ``obj.f(...)``; None for other callees."""
    func = call.func
    if isinstance(func, cst.Attribute):
        return func.attr.value
    if isinstance(func, cst.Name):
        return func.value
    return None


def root_name(node: cst.BaseExpression) -> str | None:
    """The variable at the root of ``a.b[c].d``: ``a``."""
    while isinstance(node, (cst.Attribute, cst.Subscript)):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None
