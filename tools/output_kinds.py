"""How the output checks read a value, decided by its type alone, and whether reading and
writing it may run code of the tool's own.

A value is never asked what it is or holds (its class may be the tool's own, redefining
``items`` or ``__len__``, and any of its methods may run on the event loop): its type's MRO
and namespaces are read as ``type`` reads them, and its members with the built-in types'
own methods, as pydantic reads them in C. :mod:`tools.output_checks` walks outputs with it.
"""

from __future__ import annotations

import collections
import enum
import functools
import operator
import sys
import types
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

# How the walks read a value, decided by its type alone (never by asking the value, whose class
# may be the tool's own): plain ints, compared in the walks' inner loops. SIZED: text or
# bytes, counted by their length; INT: an integer, by its digits; LEAF: any other scalar
# (a date, an object pydantic may not write); KEYED: a dict; INDEXED: a list, tuple, set,
# frozenset or deque; MODEL, DATACLASS: by their fields; ITERATOR: refused; ENUM: an enum
# member, read as its value (pydantic writes ``.value``, whatever it is, in its place).
SIZED, INT, LEAF, KEYED, INDEXED, MODEL, DATACLASS, ITERATOR, ENUM = range(9)

# A type's kind, the method its members or length are read with, and whether it is plain:
# (its type, kind, reader, plain), kept by the type's id (hashing a class may run code of its
# metaclass) along with the type, so that a new type given a freed one's id is classified anew.
Kind = tuple[type, int, Callable[[Any], Any] | None, bool]
_KINDS: dict[int, Kind] = {}
_KINDS_KEPT = 4096  # types made per call (create_model) are not kept for ever

DICT_ITEMS, LIST_ITER = dict.items, list.__iter__
# An enum member's value, read as pydantic reads it (``getattr``): ``enum``'s own property,
# unless the member's class is not plain.
ENUM_VALUE = operator.attrgetter("value")
_MRO_OF = type.__dict__["__mro__"].__get__  # a class's MRO and namespace, read as ``type``
_DICT_OF = type.__dict__["__dict__"].__get__  # reads them: never through its metaclass

# What pydantic reads each built-in type (and its subclasses) by: a dict, list or tuple by
# its own items (in C, whatever a subclass redefines), a set, frozenset or deque through its
# iteration (a subclass's own, as pydantic writes it), text and bytes by their own length.
_READERS: tuple[tuple[type, int, Callable[[Any], Any] | None], ...] = (
    (enum.Enum, ENUM, ENUM_VALUE),  # written as its value, whatever else it is (an int)
    (str, SIZED, str.__len__), (bytes, SIZED, bytes.__len__),
    (bytearray, SIZED, bytearray.__len__), (bool, LEAF, None), (int, INT, None),
    (float, LEAF, None), (dict, KEYED, DICT_ITEMS), (list, INDEXED, LIST_ITER),
    (tuple, INDEXED, tuple.__iter__), (set, INDEXED, iter), (frozenset, INDEXED, iter),
    (collections.deque, INDEXED, iter))


def kind_of(of: type) -> Kind:
    """How a value of type ``of`` is read (see :func:`_classified`), classified once."""
    kept = _KINDS.get(id(of))
    if kept is None or kept[0] is not of:
        if len(_KINDS) >= _KINDS_KEPT:
            _KINDS.clear()
        kept = _KINDS[id(of)] = _classified(of)
    return kept


def _classified(of: type) -> Kind:
    """How a value of type ``of`` is read, and whether it is plain: reading it (its members,
    its length) and writing it (pydantic's validation and dump) run no code of the tool's own.

    Code of the tool's own is any outside Python's standard library and pydantic. A type is
    plain when no class of the tool's own in its MRO redefines, with code of its own, what the
    other classes there define (a dict subclass's ``items``, a ``__getattribute__``, an
    enum's ``__str__``), and its metaclass is not the tool's own; a model or dataclass when
    also reading its fields runs none (see :func:`_plain_model`, :func:`_plain_dataclass`).
    Read from the classes' MROs and namespaces alone, never through a metaclass, so that
    nothing of the tool's own runs to classify it (types are compared by identity).
    """
    mro = _MRO_OF(of)
    if _holds(mro, BaseModel):
        return of, MODEL, None, _plain_model(of, mro)
    if any("__dataclass_fields__" in _DICT_OF(base) for base in mro):
        return of, DATACLASS, None, _plain_dataclass(of, mro)
    plain = _runs_no_own_code(of, mro)
    for base, kind, read in _READERS:
        if _holds(mro, base):
            if kind is ENUM:  # its value is read as ``self._value_``, set on each member
                plain = plain and not any(
                    _own_code(_DICT_OF(cls).get("_value_")) for cls in mro if not _not_own(cls))
            return of, kind, read, plain
    if _inherits(mro, "__next__") and _inherits(mro, "__iter__"):
        return of, ITERATOR, None, True  # refused, not read
    return of, LEAF, None, plain


def _holds(types: tuple[type, ...] | list[type], wanted: type) -> bool:
    """Whether ``wanted`` is one of ``types`` (by identity)."""
    return any(item is wanted for item in types)


def _inherits(mro: tuple[type, ...], name: str) -> bool:
    """Whether a class of this MRO defines ``name``, not as None (an iterator's test)."""
    for base in mro:
        namespace = _DICT_OF(base)
        if name in namespace:
            return namespace[name] is not None
    return False


def _runs_no_own_code(of: type, mro: tuple[type, ...]) -> bool:
    """Whether no class of the tool's own in ``mro`` redefines, with code of the tool's own,
    a name another class there defines, and ``of``'s metaclass is not the tool's own."""
    if not _not_own(type(of)):
        return False
    own = [base for base in mro if not _not_own(base)]
    if not own:
        return True
    defined = {name for base in mro if not _holds(own, base) for name in _DICT_OF(base)}
    return not any(name in defined and name not in _NEVER_CALLED and _own_code(item)
                   for base in own for name, item in _DICT_OF(base).items())


# Methods no read or write of an existing value calls (pydantic makes a model without
# ``__init__``, an enum's members are made with its class): a class of the tool's own may
# define them and stay plain.
_NEVER_CALLED = frozenset({"__init__", "__init_subclass__", "__class_getitem__",
                           "_generate_next_value_"})

_MODULE_OF = type.__dict__["__module__"].__get__
_NOT_OWN_PACKAGES = sys.stdlib_module_names | {"pydantic", "pydantic_core"}


def _not_own(cls: type) -> bool:
    """Whether ``cls`` is Python's or pydantic's (its module is of the standard library, or
    pydantic), not the tool's own."""
    try:
        module = _MODULE_OF(cls)
    except AttributeError:  # a class whose namespace lost its __module__
        return False
    return _not_own_module(module)


def _not_own_module(module: Any) -> bool:
    """Whether ``module`` (a ``__module__``) names a module of Python's or pydantic's."""
    return type(module) is str and module.partition(".")[0] in _NOT_OWN_PACKAGES


def _own_code(item: Any) -> bool:
    """Whether a class's attribute is code of the tool's own: a function defined outside the
    standard library and pydantic (or a property, class or static method of one), or a
    callable or descriptor of a class of the tool's own. A function pydantic or ``enum``
    writes in a class (a frozen model's ``__hash__``), a slot or anything made in C is not."""
    of = type(item)
    if of is property:
        item = item.fget
    elif of is classmethod or of is staticmethod:
        item = item.__func__
    elif of is functools.cached_property:
        item = item.func
    if type(item) is types.FunctionType:
        return not _not_own_module(item.__module__)
    return ((callable(item) or _inherits(_MRO_OF(type(item)), "__get__"))
            and not _not_own(type(item)))


_MODEL_METACLASS = type(BaseModel)  # pydantic's ModelMetaclass


def _plain_model(model: type, mro: tuple[type, ...]) -> bool:
    """Whether reading and writing a ``model`` runs no code of the tool's own: pydantic's own
    metaclass; no validator, serializer, computed field or post-init (:func:`runs_own_code`);
    and no class of the tool's own in its MRO redefining with code what ``BaseModel`` or
    ``object`` define (``__getattr__``, ``model_dump``, ``__eq__``…)."""
    return (type(model) is _MODEL_METACLASS and not runs_own_code(model)
            and _runs_no_own_code(model, mro))


def _plain_dataclass(cls: type, mro: tuple[type, ...]) -> bool:
    """Whether reading and writing a dataclass runs no code of the tool's own: its fields read
    so (:func:`_fields_read_plainly`) and, for a pydantic dataclass, no validator or
    serializer (:func:`runs_own_code`)."""
    return _not_own(type(cls)) and not runs_own_code(cls) and _fields_read_plainly(mro)


def _fields_read_plainly(mro: tuple[type, ...]) -> bool:
    """Whether a dataclass's fields are read without code of the tool's own: pydantic reads
    each with ``getattr``, so no ``__getattribute__`` or ``__getattr__`` of its own and no
    field read through a descriptor of its own (a property; a slot is read in C)."""
    for name in ("__getattribute__", "__getattr__"):
        found = next((base for base in mro if name in _DICT_OF(base)), object)
        if not _not_own(found) and _own_code(_DICT_OF(found)[name]):
            return False
    fields = next((_DICT_OF(base)["__dataclass_fields__"] for base in mro
                   if "__dataclass_fields__" in _DICT_OF(base)), {})
    for name in dict.__iter__(fields):
        found = next((_DICT_OF(base)[name] for base in mro if name in _DICT_OF(base)), None)
        # Only a data descriptor (a property) comes before the instance's own attribute.
        data = _MRO_OF(type(found))
        if (_inherits(data, "__set__") or _inherits(data, "__delete__")) and _own_code(found):
            return False
    return True


_FUNCTION_SCHEMAS = frozenset({"function-before", "function-after", "function-wrap",
                               "function-plain"})


@functools.cache
def runs_own_code(model: type) -> bool:
    """Whether validating or writing a ``model`` (a model or dataclass class) may run code of
    the tool's own: a validator, a serializer, a computed field, a post-init, a type with a
    schema of its own, or a class with code pydantic calls (:func:`_class_runs_own_code`),
    here or in any model it holds. Read from its pydantic core schema, whose members are
    told apart by their exact types (``isinstance`` may ask an object its ``__class__``)."""
    schema = getattr(model, "__pydantic_core_schema__", None)
    if schema is None:
        return False  # a plain dataclass: written field by field
    if type(schema) is not dict:
        return True  # not built yet: not known
    stack, seen = [schema], set()
    while stack:
        item = stack.pop()
        of = type(item)
        if of is dict:
            if id(item) in seen:
                continue
            seen.add(id(item))
            if (item.get("type") in _FUNCTION_SCHEMAS or item.get("computed_fields")
                    or item.get("post_init") or _class_runs_own_code(item)):
                return True
            stack.extend(item.values())
        elif of is list or of is tuple:
            stack.extend(item)
    return False


# What an enum member's value may be, in an output model's field, for its model to be plain:
# pydantic compares what the tool returned with each value, and writes the value matched.
_SCALARS = (str, int, float, bool, bytes, type(None))


def _class_runs_own_code(schema: dict[str, Any]) -> bool:
    """Whether the class a schema names (a model, dataclass or enum held in an output model)
    may run code of the tool's own as pydantic validates or writes it: a model class of the
    tool's own redefining what pydantic calls (``__getattribute__``…), a dataclass whose
    fields are read through its own code, an enum class that is not plain (its own
    ``_missing_``, called with the text an output model reads as a member, or ``value``), an
    enum schema's own ``missing`` hook, or a member whose value is not a plain scalar."""
    cls = schema.get("cls")
    if cls is None or not _holds(_MRO_OF(type(cls)), type):
        return False
    kind = schema.get("type")
    if kind == "model":
        return not _runs_no_own_code(cls, _MRO_OF(cls))
    if kind == "dataclass":
        return not (_not_own(type(cls)) and _fields_read_plainly(_MRO_OF(cls)))
    if kind != "enum":
        return False
    _, cls_kind, _, plain = kind_of(cls)
    if not plain or cls_kind is not ENUM or schema.get("missing") is not None:
        return True
    members = schema.get("members")
    return type(members) is not list or not all(
        _holds(_SCALARS, type(ENUM_VALUE(member))) for member in members)
