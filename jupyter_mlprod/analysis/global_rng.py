"""Global random generators as values: which statements draw from NumPy's global generator
(or Python's ``random``) and which reseed it, so that slicing keeps, in order, the untagged
statements that advance the generator a stage reads.

A notebook that fits a forest without ``random_state`` gets its trees from NumPy's global
generator (scikit-learn's ``check_random_state(None)``), in whatever state the exploration
cells before it left it. The package seeds the generator as the baseline run does
(``runtime/seeding.py``), so it reproduces the fit only if it makes the same draws first.
The rule, statement by statement (calls inside function bodies count when the function is
called):

- ``np.random.<draw>(...)`` (any function of ``numpy.random`` except the constructors of own
  generators, ``RandomState``, ``default_rng`` and the like) and ``random.<draw>(...)`` of the
  standard library draw; ``np.random.seed(...)``/``random.seed(...)`` reseed (the state
  before stops mattering);
- a scikit-learn function with a ``random_state`` parameter called without it, or with
  ``None`` (``train_test_split(X, y)``, ``make_blobs()``), draws;
- a scikit-learn class with that parameter constructed without it is *unseeded*: fitting it
  (``clf.fit``, ``Cls().fit``) or passing it to another call (``cross_val_score(clf, ...)``,
  a helper that fits it) draws;
- a function defined in the notebook whose body draws, passed to a call
  (``interact(fit_tree, depth=(1, 5))``), is taken to be called by it;
- calling a function defined in the notebook, or in a module beside it (``helpers.py``, a
  local package's files), draws when its body does any of this or constructs an unseeded
  estimator.

Whether a scikit-learn name takes ``random_state`` is read from its signature when
scikit-learn can be imported here; when it cannot, the name is taken not to draw.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import libcst as cst

from .statements import FUNCTION, ImportBinding, Statement

NUMPY_GENERATOR = "<numpy global generator>"
RANDOM_GENERATOR = "<random global generator>"
GENERATOR_LABELS = {
    NUMPY_GENERATOR: "NumPy's global random generator",
    RANDOM_GENERATOR: "Python's global `random` generator",
}
_RESEEDS = frozenset({"seed", "set_state", "setstate"})
# numpy.random / random names that make or inspect a generator rather than draw from the
# global one.
_NOT_DRAWS = frozenset(
    {"RandomState", "default_rng", "Generator", "SeedSequence", "BitGenerator", "PCG64",
     "PCG64DXSM", "MT19937", "Philox", "SFC64", "get_state", "getstate", "Random",
     "SystemRandom"}
)  # fmt: skip
_FITTING = frozenset({"fit", "partial_fit", "fit_transform", "fit_predict", "fit_resample"})


@dataclass(frozen=True)
class GeneratorUse:
    """How one statement uses the global generators.

    Attributes:
        draws: the generators it advances (and so reads), with what draws, e.g.
            ``{NUMPY_GENERATOR: "RandomForestClassifier(...).fit without random_state"}``.
        reseeds: the generators it reseeds.
    """

    draws: Mapping[str, str]
    reseeds: frozenset[str]


class GeneratorScan:
    """Reads the statements of a notebook in order and says how each uses the generators."""

    def __init__(self, statements: Sequence[Statement], notebook_dir: Path | None) -> None:
        self._bindings: dict[str, str] = {}  # bound name → dotted module path it stands for
        self._unseeded: set[str] = set()  # names holding an unseeded estimator
        self._drawing_functions: dict[str, str] = {}  # notebook function → what it draws
        self._notebook_dir = notebook_dir
        self._parents: Mapping[int, cst.CSTNode] = {}  # of the calls being classified
        self.uses: dict[int, GeneratorUse] = {}
        # For each code statement (by ``id``): its outermost calls that draw by themselves
        # (``np.random.rand(300)``, ``make_blobs()``), in order.
        self.draw_calls: dict[int, list[cst.Call]] = {}
        for statement in statements:
            self.uses[id(statement)] = self._scan(statement)

    def _scan(self, statement: Statement) -> GeneratorUse:
        for binding in statement.imports:
            self._bindings[binding.name] = _dotted_of(binding)
        node = statement.node
        if statement.kind == FUNCTION and isinstance(node, cst.FunctionDef):
            found = self._body_draws(statement.fact(_body_calls))
            if found:
                self._drawing_functions[node.name.value] = found
            else:
                self._drawing_functions.pop(node.name.value, None)
            return GeneratorUse({}, frozenset())
        if statement.kind != "code":
            return GeneratorUse({}, frozenset())
        # The calls depend on the node alone: found once per parsed cell, kept with it.
        finder = statement.fact(_top_calls)
        self._parents = finder.parents
        draws: dict[str, str] = {}
        reseeds: set[str] = set()
        for call in finder.calls:
            self._classify(call, draws, reseeds, in_body=False)
        plain = [call for call in finder.calls if self._draws_by_itself(call)]
        self.draw_calls[id(statement)] = [
            call for call in plain if not _inside_any(call, plain, finder.parents)
        ]
        self._track_unseeded(node)
        return GeneratorUse(draws, frozenset(reseeds))

    def _classify(
        self, call: cst.Call, draws: dict[str, str], reseeds: set[str], *, in_body: bool
    ) -> None:
        dotted = self._resolve(call.func)
        generator = _global_generator(dotted)
        if generator is not None and dotted is not None:
            last = dotted.rsplit(".", 1)[-1]
            if last in _RESEEDS:
                reseeds.add(generator)
            elif last not in _NOT_DRAWS:
                draws.setdefault(generator, f"{dotted.split('.', 1)[-1] if in_body else last}()")
            return
        if dotted is not None and dotted.split(".")[0] == "sklearn" and _unseeded_call(call):
            kind = _random_state_kind(dotted)
            name = dotted.rsplit(".", 1)[-1]
            if kind == "function" or (kind == "class" and in_body):
                draws.setdefault(NUMPY_GENERATOR, f"{name}(...) without random_state")
            elif kind == "class" and _fitted_or_passed(call, self._parents):
                draws.setdefault(NUMPY_GENERATOR, f"{name}(...) fitted without random_state")
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value in _FITTING:
            receiver = func.value
            if isinstance(receiver, cst.Name) and receiver.value in self._unseeded:
                draws.setdefault(
                    NUMPY_GENERATOR, f"{receiver.value}.{func.attr.value} without random_state"
                )
        for argument in call.args:
            value = argument.value
            if isinstance(value, cst.Name) and value.value in self._unseeded:
                draws.setdefault(NUMPY_GENERATOR, f"the unseeded `{value.value}` passed to a call")
            elif isinstance(value, cst.Name) and value.value in self._drawing_functions:
                # `interact(fit_tree, ...)` calls what it is given.
                draws.setdefault(
                    NUMPY_GENERATOR,
                    f"`{value.value}` passed to a call ({self._drawing_functions[value.value]})",
                )
        if isinstance(func, cst.Name) and func.value in self._drawing_functions:
            draws.setdefault(
                NUMPY_GENERATOR, f"{func.value}() ({self._drawing_functions[func.value]})"
            )
        elif dotted is not None and self._notebook_dir is not None:
            found = _local_function_draws(self._notebook_dir, dotted)
            if found:
                draws.setdefault(NUMPY_GENERATOR, f"{dotted}() ({found})")

    def _draws_by_itself(self, call: cst.Call) -> bool:
        dotted = self._resolve(call.func)
        if dotted is None:
            return False
        if _global_generator(dotted) is not None:
            return dotted.rsplit(".", 1)[-1] not in _RESEEDS | _NOT_DRAWS
        return (
            dotted.split(".")[0] == "sklearn"
            and _unseeded_call(call)
            and _random_state_kind(dotted) == "function"
        )

    def _track_unseeded(self, node: cst.BaseStatement) -> None:
        if not isinstance(node, cst.SimpleStatementLine):
            return
        for small in node.body:
            if not isinstance(small, cst.Assign):
                continue
            value = small.value
            unseeded = (
                isinstance(value, cst.Call)
                and _unseeded_call(value)
                and (dotted := self._resolve(value.func)) is not None
                and dotted.split(".")[0] == "sklearn"
                and _random_state_kind(dotted) == "class"
            )
            for target in small.targets:
                if isinstance(target.target, cst.Name):
                    if unseeded:
                        self._unseeded.add(target.target.value)
                    else:
                        self._unseeded.discard(target.target.value)

    def _body_draws(self, finder: _Calls) -> str:
        """What a function's body draws, from its calls (``_Calls`` of the body)."""
        self._parents = finder.parents
        draws: dict[str, str] = {}
        for call in finder.calls:
            self._classify(call, draws, set(), in_body=True)
        return next(iter(draws.values()), "")

    @property
    def drawing_functions(self) -> Mapping[str, str]:
        """The functions defined so far whose body draws, and what it draws."""
        return self._drawing_functions

    def _resolve(self, func: cst.BaseExpression) -> str | None:
        """The dotted path a callee stands for through the imports (``np.random.rand`` →
        ``numpy.random.rand``), or None when its root is not an imported name."""
        parts: list[str] = []
        while isinstance(func, cst.Attribute):
            parts.append(func.attr.value)
            func = func.value
        if not isinstance(func, cst.Name):
            return None
        if func.value in self._bindings:
            return ".".join([self._bindings[func.value], *reversed(parts)])
        return None


def _dotted_of(binding: ImportBinding) -> str:
    if binding.imported is None:
        # `import numpy as np` binds np to numpy; `import sklearn.tree` binds sklearn.
        return binding.module if binding.asname else binding.module.split(".")[0]
    prefix = "." * binding.level + binding.module
    return f"{prefix}.{binding.imported}" if prefix else binding.imported


def _global_generator(dotted: str | None) -> str | None:
    if dotted is None:
        return None
    if dotted.startswith("numpy.random.") and dotted.count(".") == 2:
        return NUMPY_GENERATOR
    if dotted.startswith("random.") and dotted.count(".") == 1:
        return RANDOM_GENERATOR
    return None


def _unseeded_call(call: cst.Call) -> bool:
    for argument in call.args:
        if argument.keyword is not None and argument.keyword.value == "random_state":
            return isinstance(argument.value, cst.Name) and argument.value.value == "None"
        if argument.star:
            return False  # `**kwargs` may carry it
    return True


@functools.cache
def _random_state_kind(dotted: str) -> str | None:
    """``"class"`` or ``"function"`` when the scikit-learn name takes ``random_state``."""
    module_name, _, attribute = dotted.rpartition(".")
    try:
        target = getattr(importlib.import_module(module_name), attribute)
        parameters = inspect.signature(target).parameters
    except (ImportError, AttributeError, TypeError, ValueError):
        return None
    if "random_state" not in parameters:
        return None
    return "class" if inspect.isclass(target) else "function"


def _inside_any(
    call: cst.Call, calls: Sequence[cst.Call], parents: Mapping[int, cst.CSTNode]
) -> bool:
    others = {id(other) for other in calls if other is not call}
    node = parents.get(id(call))
    while node is not None:
        if id(node) in others:
            return True
        node = parents.get(id(node))
    return False


def _fitted_or_passed(call: cst.Call, parents: Mapping[int, cst.CSTNode]) -> bool:
    parent = parents.get(id(call))
    if isinstance(parent, cst.Attribute) and parent.value is call:
        return parent.attr.value in _FITTING
    return isinstance(parent, cst.Arg)


class _Calls(cst.CSTVisitor):
    """Every call of a statement in order, with each node's parent."""

    def __init__(self, *, into_functions: bool) -> None:
        self.calls: list[cst.Call] = []
        self.parents: dict[int, cst.CSTNode] = {}
        self._stack: list[cst.CSTNode] = []
        self._into_functions = into_functions

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)) and not (
            self._into_functions
        ):
            return False
        if self._stack:
            self.parents[id(node)] = self._stack[-1]
        self._stack.append(node)
        if isinstance(node, cst.Call):
            self.calls.append(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self._stack.pop()


def _top_calls(node: cst.BaseStatement) -> _Calls:
    """The calls of a statement outside the functions, lambdas and classes it defines."""
    finder = _Calls(into_functions=False)
    node.visit(finder)
    return finder


def _body_calls(node: cst.BaseStatement) -> _Calls:
    """The calls of a function's body, nested functions' included (none for a non-def)."""
    finder = _Calls(into_functions=True)
    if isinstance(node, cst.FunctionDef):
        node.body.visit(finder)
    return finder


def _local_function_draws(notebook_dir: Path, dotted: str) -> str:
    """What a function of a module beside the notebook draws (empty if nothing or not
    local): ``helpers.fit_all`` reads ``helpers.py`` (or every file of a ``helpers/``
    package) and scans the function's body with that module's imports."""
    module, _, function = dotted.rpartition(".")
    if not module or module.startswith(".") or "." in module:
        return ""
    return _module_functions(notebook_dir, module).get(function, "")


@functools.cache
def _module_functions(notebook_dir: Path, module: str) -> dict[str, str]:
    from .statements import parse_cell

    files: Iterable[Path]
    single = notebook_dir / f"{module}.py"
    package = notebook_dir / module
    if single.is_file():
        files = [single]
    elif (package / "__init__.py").is_file():
        files = sorted(package.glob("*.py"))
    else:
        return {}
    found: dict[str, str] = {}
    for path in files:
        try:
            parsed = parse_cell(0, path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, cst.ParserSyntaxError):
            continue
        scan = GeneratorScan(parsed.statements, None)
        found.update(scan.drawing_functions)
    return found
