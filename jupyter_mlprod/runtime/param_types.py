"""Parameter typing: read and check parameter values by the ``Params`` annotations.

The one rule set for both command lines: a generated package's ``train --param k=v``,
``--params-file`` and ``POST /retrain``, and ``nb2prod run -p NAME VALUE`` / ``verify`` (the
converter imports this file in-process, so it uses the standard library only). A value is
converted by the parameter's declared type, never guessed.

**Text** (a command-line value, a form field) is read as follows:

- ``str``: the text exactly as given.
- ``bool``: ``true``, ``yes``, ``y``, ``on``, ``1`` or ``false``, ``no``, ``n``, ``off``,
  ``0``, in any case.
- ``int``: an integer (``7``, ``-3``, ``1_000``); ``1.5`` is refused.
- ``float``: anything ``float()`` reads (``1``, ``2.5e-3``, ``nan``, ``inf``).
- ``X | None``, ``Optional[X]``, or any parameter whose default is None: ``none``, ``null``
  or ``~`` (any case) is None, and so is empty text unless ``X`` is ``str``.
- ``list``, ``tuple``, ``set``, ``dict`` (and ``List``, ``Sequence``, ``Mapping``, …): a
  Python or JSON literal (``[1, 2]``, ``{"a": 1}``, ``[true]``); lists, tuples and sets
  also take comma-separated words (``age,income`` is ``["age", "income"]``) or one word
  (``plan`` is ``["plan"]``). Items are then checked as typed values, so
  ``tuple[float, float]`` wants exactly two numbers.
- ``A | B``: the first member that accepts the text.
- ``Any`` or an annotation not listed: a Python or JSON literal when the text is one, else
  the text itself.

**Typed values** (a YAML/JSON params file, a request body, items of a literal) are checked
by the same annotations: ints are widened to float for ``float``; booleans are not
integers; lists, tuples and sets convert into each other as the annotation asks; None is
accepted only where text ``none`` would be; and a string where something else is expected
is read as text by the rules above (YAML reads ``1e-3`` as a string).
"""

from __future__ import annotations

import ast
import collections.abc
import dataclasses
import json
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import ParameterError

_TRUE = frozenset({"true", "yes", "y", "on", "1"})
_FALSE = frozenset({"false", "no", "n", "off", "0"})
_NONE = frozenset({"none", "null", "~"})

_LIST_LIKE: frozenset[Any] = frozenset(
    {list, collections.abc.Sequence, collections.abc.MutableSequence}
)
_SET_LIKE: frozenset[Any] = frozenset(
    {set, frozenset, collections.abc.Set, collections.abc.MutableSet}
)
_DICT_LIKE: frozenset[Any] = frozenset(
    {dict, collections.abc.Mapping, collections.abc.MutableMapping}
)

# Names an annotation written in a parameters cell may use, as the objects they denote.
_ANNOTATION_NAMES: dict[str, Any] = {
    "int": int,
    "float": float,
    "bool": bool,
    "str": str,
    "list": list,
    "dict": dict,
    "tuple": tuple,
    "set": set,
    "frozenset": frozenset,
    "None": None,
    "NoneType": None,
    "Any": Any,
    "Optional": typing.Optional,
    "Union": typing.Union,
    "List": typing.List,  # noqa: UP006 - the notebook's spelling, kept as written
    "Dict": typing.Dict,  # noqa: UP006
    "Tuple": typing.Tuple,  # noqa: UP006
    "Set": typing.Set,  # noqa: UP006
    "FrozenSet": typing.FrozenSet,  # noqa: UP006
    "Sequence": collections.abc.Sequence,
    "MutableSequence": collections.abc.MutableSequence,
    "Mapping": collections.abc.Mapping,
    "MutableMapping": collections.abc.MutableMapping,
}


def build_params(params_class: type, overrides: Sequence[str], params_file: str | None) -> Any:
    """Build ``Params`` from its defaults, a params file, then ``--param`` overrides.

    Args:
        params_class: The generated ``Params`` dataclass.
        overrides: ``K=V`` strings from the command line, read by the field types.
        params_file: A YAML or JSON mapping of parameter values, or None.

    Returns:
        A ``Params`` instance.

    Raises:
        ParameterError: Naming an unknown parameter or a value of the wrong type.
    """
    annotations = field_annotations(params_class)
    values: dict[str, Any] = {}
    if params_file:
        values.update(check_params(params_class, read_params_file(params_file), params_file))
    for override in overrides:
        name, sep, text = override.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ParameterError(f"--param {override!r}: expected NAME=VALUE")
        _check_known(name, annotations, "--param")
        values[name] = coerce_text(name, text, annotations[name])
    return params_class(**values)


def check_params(params_class: type, values: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Check typed values (a params file, a ``POST /retrain`` body) against ``Params``.

    Args:
        params_class: The generated ``Params`` dataclass.
        values: Parameter values by name.
        where: Where the values come from, for messages.

    Returns:
        The values, converted as :func:`check_value` does.

    Raises:
        ParameterError: Naming an unknown parameter or a value of the wrong type.
    """
    annotations = field_annotations(params_class)
    checked = {}
    for name, value in values.items():
        _check_known(name, annotations, where)
        checked[name] = check_value(name, value, annotations[name])
    return checked


def field_annotations(params_class: type) -> dict[str, Any]:
    """Each field's annotation, made optional when its default is None.

    Args:
        params_class: A dataclass (the generated ``Params``).

    Returns:
        ``{field name: annotation}`` in field order.
    """
    hints = typing.get_type_hints(params_class)
    return {
        field.name: with_default(hints[field.name], field.default)
        for field in dataclasses.fields(params_class)
    }


def with_default(annotation: Any, default: Any) -> Any:
    """The annotation a parameter is typed by: ``X | None`` when its default is None.

    Args:
        annotation: The declared annotation.
        default: The parameter's default value.

    Returns:
        The annotation, widened to accept None when the default is None.
    """
    if default is None and not accepts_none(annotation):
        return typing.Optional[annotation]  # noqa: UP045 - annotation is a runtime value
    return annotation


def accepts_none(annotation: Any) -> bool:
    """Whether None is a valid value for the annotation (``Any``, ``X | None``, ``None``)."""
    if annotation is Any or annotation is None or annotation is type(None):
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(accepts_none(option) for option in typing.get_args(annotation))
    return False


def annotation_from_text(text: str) -> Any:
    """The annotation object an annotation written in a parameters cell denotes.

    Read without evaluating code: only the names in the module docstring's rules are
    known, and anything else (an unknown name, ``Literal[...]``) is ``Any``.

    Args:
        text: An annotation such as ``float``, ``list[int]``, ``str | None``,
            ``typing.Optional[int]``.

    Returns:
        The annotation (``float``, ``list[int]``, ``str | None``, …) or ``Any``.
    """
    try:
        expression = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        return Any
    try:
        return _annotation_of(expression)
    except (TypeError, ValueError):
        return Any


def type_name(annotation: Any) -> str:
    """How messages name an annotation: ``int``, ``list[str]``, ``str | None``."""
    if typing.get_args(annotation):
        return str(annotation).replace("typing.", "")
    return str(getattr(annotation, "__name__", annotation))


def optional_inner(annotation: Any) -> Any | None:
    """``X`` for ``X | None`` (or ``Optional[X]``), else None."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        options = typing.get_args(annotation)
        rest = [option for option in options if option is not type(None)]
        if len(rest) == 1 and len(options) == 2:
            return rest[0]
    return None


def coerce_text(name: str, text: str, annotation: Any) -> Any:
    """Read a command-line string as a value of the parameter's annotation.

    Args:
        name: The parameter, for messages.
        text: The text as given.
        annotation: The parameter's annotation (see :func:`with_default`).

    Returns:
        The value.

    Raises:
        ParameterError: ``--param name=text: expected <type>``.
    """
    problem = f"--param {name}={text}: expected {type_name(annotation)}"
    stripped = text.strip()
    inner = optional_inner(annotation)
    if inner is not None:
        if stripped.lower() in _NONE or (not stripped and inner is not str):
            return None
        return coerce_text(name, text, inner)
    if annotation is str:
        return text
    if annotation is Any or annotation is None or annotation is type(None):
        try:
            return _read_literal(stripped)
        except ValueError:
            return text
    if annotation is bool:
        lowered = stripped.lower()
        if lowered in _TRUE | _FALSE:
            return lowered in _TRUE
        raise ParameterError(problem + " (true or false)")
    if annotation is int or annotation is float:
        try:
            return annotation(stripped)
        except ValueError:
            raise ParameterError(problem) from None
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(annotation):
            try:
                return coerce_text(name, text, option)
            except ParameterError:
                continue
        raise ParameterError(problem)
    try:
        parsed = _read_literal(stripped)
    except ValueError:
        if not _is_collection(annotation):
            raise ParameterError(problem) from None
        parsed = [part.strip() for part in text.split(",")] if "," in text else [text]
    try:
        return check_value(name, parsed, annotation)
    except ParameterError:
        raise ParameterError(problem) from None


def check_value(name: str, value: Any, annotation: Any) -> Any:
    """Check a typed value (from a params file or a request) against the annotation.

    Args:
        name: The parameter, for messages.
        value: The value.
        annotation: The parameter's annotation (see :func:`with_default`).

    Returns:
        The value, with ints widened to float, lists turned into tuples or sets, and
        strings read as text, where the annotation asks for it.

    Raises:
        ParameterError: ``parameter name: expected <type>, got <type>``.
    """
    problem = ParameterError(
        f"parameter {name}: expected {type_name(annotation)}, got {type(value).__name__}"
    )
    if annotation is Any:
        return value
    if value is None:
        if accepts_none(annotation):
            return None
        raise problem
    if isinstance(value, str) and annotation is not str:
        try:
            return coerce_text(name, value, annotation)
        except ParameterError:
            raise problem from None
    inner = optional_inner(annotation)
    if inner is not None:
        return check_value(name, value, inner)
    if annotation is bool:
        if isinstance(value, bool):
            return value
        raise problem
    if annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise problem
    if annotation is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise problem
    if annotation is str:
        if isinstance(value, str):
            return value
        raise problem
    origin = typing.get_origin(annotation) or annotation
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        for option in args:
            try:
                return check_value(name, value, option)
            except ParameterError:
                continue
        raise problem
    if origin in _DICT_LIKE:
        if not isinstance(value, dict):
            raise problem
        if len(args) != 2:
            return dict(value)
        return {
            check_value(name, key, args[0]): check_value(name, item, args[1])
            for key, item in value.items()
        }
    if origin is tuple:
        if not isinstance(value, list | tuple | set | frozenset):
            raise problem
        if not args:
            return tuple(value)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(check_value(name, item, args[0]) for item in value)
        if len(args) != len(value):
            raise problem
        return tuple(check_value(name, item, a) for item, a in zip(value, args, strict=True))
    if origin in _LIST_LIKE or origin in _SET_LIKE:
        if not isinstance(value, list | tuple | set | frozenset):
            raise problem
        items = [check_value(name, item, args[0]) for item in value] if args else list(value)
        if origin in _SET_LIKE:
            return frozenset(items) if origin is frozenset else set(items)
        return items
    return value


def read_params_file(path: str) -> dict[str, Any]:
    """Read a params file: a JSON (``.json``) or YAML mapping of parameter names to values.

    Args:
        path: The file.

    Returns:
        The mapping (empty for an empty file).

    Raises:
        ParameterError: The file cannot be read, does not parse, or is not such a mapping.
    """
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as error:
        raise ParameterError(f"{source}: cannot read parameters file ({error.strerror})") from None
    try:
        if source.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            try:
                import yaml
            except ImportError:
                raise ParameterError(f"{source}: YAML needs PyYAML: pip install pyyaml") from None
            data = yaml.safe_load(text)
    except ValueError as error:  # json.JSONDecodeError and yaml.YAMLError's parents
        raise ParameterError(
            f"{source}: not valid JSON/YAML ({str(error).splitlines()[0]})"
        ) from None
    except Exception as error:  # noqa: BLE001 - yaml.YAMLError does not derive from ValueError
        raise ParameterError(f"{source}: not valid YAML ({type(error).__name__})") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(key, str) for key in data):
        raise ParameterError(f"{source}: expected a mapping of parameter names to values")
    return data


def _check_known(name: str, annotations: Mapping[str, Any], where: str) -> None:
    if name not in annotations:
        known = ", ".join(annotations)
        raise ParameterError(f"{where}: unknown parameter {name!r}; known: {known}")


def _is_collection(annotation: Any) -> bool:
    origin = typing.get_origin(annotation) or annotation
    return origin is tuple or origin in _LIST_LIKE or origin in _SET_LIKE


def _read_literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        # JSON spellings (true, false, null) are common on command lines.
        try:
            return json.loads(text)
        except ValueError:
            raise ValueError(text) from None


def _annotation_of(node: ast.expr) -> Any:
    if isinstance(node, ast.Constant):
        if node.value is None:
            return None
        if node.value is Ellipsis:
            return Ellipsis
        if isinstance(node.value, str):  # a forward reference: "int"
            return annotation_from_text(node.value)
        return Any
    if isinstance(node, ast.Name | ast.Attribute):
        name = node.id if isinstance(node, ast.Name) else node.attr
        return _ANNOTATION_NAMES.get(name, Any)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return typing.Union[_annotation_of(node.left), _annotation_of(node.right)]  # noqa: UP007
    if isinstance(node, ast.Subscript):
        base = _annotation_of(node.value)
        if base is Any:
            return Any
        elements = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        arguments = tuple(_annotation_of(element) for element in elements)
        return base[arguments if len(arguments) > 1 else arguments[0]]
    return Any
