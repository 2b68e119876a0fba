"""The embedded backend: the Rego interpreter ``regopy`` (rego-cpp), no server needed.

Known gaps of the interpreter, which the shipped policies stay clear of (a
test checks): no networking built-ins (``net.*``, ``http.send``),
``time.parse_rfc3339_ns`` fails, ``with input as`` is unreliable, ``min``/``max``
return wrong values, ``sprintf("%s", [concat(...)])`` adds quotes, and regular
expressions take no inline flags such as ``(?i)``.

It has no check of unsafe variables: a name defined nowhere (``s.tool in blocked_toolz``
where only ``blocked_tools`` exists), which OPA refuses to compile, becomes a variable
that nothing assigns, and the expression never holds: a deny rule silently never fires.
``_unassigned_variables`` finds them in the compiled plan (the bundle's node tree): a
local that a rule body reads and that neither the body nor its function writes. It finds
them in every rule the decisions use, but not in a rule nothing uses (rego-cpp does not
compile it), nor where the same body also assigns a variable of that name, nor an unsafe
variable that rego-cpp binds where OPA refuses it (``not p[x]`` with ``x`` unbound is
read as "no x such that p[x]").

Its failures are read with care: a bundle that did not build still comes back from
``build`` (its ``ok()`` false), and asking an output of such a bundle for its text
crashes the process (a segfault), so a failed build is caught before any query. Its
error trees are read for their messages only: the ``errorast`` beside a message may
hold the input, and the input may hold a secret. It logs to stdout unless told not to,
which would corrupt ``--json`` output, so every interpreter here is silenced.

Its time built-ins that read the time zone database (``time.clock``, ``time.date``,
``time.format`` with a zone, ``time.weekday`` always) abort the process unless the C++
runtime it links to is shared (``_share_the_cxx_runtime``). A zone the system's database
(/usr/share/zoneinfo) does not hold is an evaluation failure.
"""

from __future__ import annotations

import ctypes
import json
import math
import os
import re
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from .bundle import DATA_ROOT, PolicyBundle
from .engine import DECISION_PATH, STEP_DECISION_PATH, EngineFailure, FailClosedEngine
from .long_strings import readable, secret_pattern_pieces, with_pattern_hints

ENGINE_NAME = "embedded"
ENTRYPOINTS = (DECISION_PATH, STEP_DECISION_PATH)
# Finding which module breaks a build costs one build per module: only for bundles this size.
_MAX_MODULES_TO_BLAME = 25


_CXX_RUNTIME = "libstdc++.so.6"
_cxx_runtime_shared = False


def _share_the_cxx_runtime() -> None:
    """Put the system's C++ runtime in the global scope before regopy's library is loaded.

    regopy's library (built with a newer GCC than the system's) carries its own copy of the
    parts of the C++ library the system's lacks, the time zone database among them, and takes
    the rest from the system's libstdc++. Loaded as a dependency of regopy alone, libstdc++
    binds to the same copies as regopy. But where another extension loaded it first, privately
    (Python's default; greenlet, which structlog imports, does), each binds to its own copy:
    when the zone database is first read, a string made by one copy is freed by the other,
    and the process aborts ("free(): invalid pointer", SIGABRT), whatever the zone.
    Made global, libstdc++ is the one copy every later library binds to, as when it is
    loaded first; loading it again, globally, does that to one already loaded.
    """
    global _cxx_runtime_shared
    if _cxx_runtime_shared or not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(_CXX_RUNTIME, mode=os.RTLD_GLOBAL)
    except OSError:  # a regopy not built against libstdc++ has nothing to share
        pass
    _cxx_runtime_shared = True


def _interpreter() -> Any:
    """A new interpreter that reports built-in errors and prints nothing."""
    _share_the_cxx_runtime()  # before the first import of regopy loads its library
    from regopy import Interpreter
    from regopy.rego_shared import LogLevel

    rego = Interpreter()
    # rego-cpp writes its error trees (a syntax error, data it refused whole) to stdout.
    rego.log_level = LogLevel.NONE
    rego.strict_built_in_errors = True
    return rego


class _ModuleRefused(EngineFailure):
    """rego-cpp refused a module as it was added (a syntax error): its error names the file."""


def _build(modules: Sequence[tuple[str, str]], data_json: str,
           entrypoints: Sequence[str] = ENTRYPOINTS) -> tuple[Any, Any]:
    """(interpreter, bundle) with ``modules`` and the data compiled for ``entrypoints``."""
    rego = _interpreter()
    for name, source in modules:
        try:
            rego.add_module(name, source)
        except Exception as exc:  # regopy raises RegoError, ctypes errors or TypeError
            raise _ModuleRefused(_syntax_errors(exc, dict(modules)) or _first_line(exc)) from exc
    try:
        rego.add_data_json(data_json)
        bundle = rego.build(None, list(entrypoints))
    except Exception as exc:  # noqa: BLE001 - the same translation as above
        raise EngineFailure(_first_line(exc)) from exc
    if not bundle.ok():
        from regopy.rego_shared import rego_bundle_node

        raise EngineFailure(_error_messages(rego_bundle_node(bundle._impl)))
    return rego, bundle


def _compiles_without(modules: Sequence[tuple[str, str]], data_json: str) -> list[str]:
    """The modules without any one of which the others compile: where to look for the fault.

    rego-cpp names no file for an error found after parsing (a rule written in Rego v0
    syntax clashing with the v1 rules beside it, say).
    """
    if not 1 < len(modules) <= _MAX_MODULES_TO_BLAME:
        return []
    found = []
    for index, (name, _) in enumerate(modules):
        try:
            _build([*modules[:index], *modules[index + 1:]], data_json)
        except EngineFailure:
            continue
        found.append(name)
    return found


class CompiledPolicies:
    """One interpreter with the bundle compiled once; evaluation is serialised (it holds the input)."""

    def __init__(self, modules: tuple[tuple[str, str], ...], data: Mapping[str, Any]) -> None:
        self._lock = threading.Lock()
        try:
            # NaN and infinity have no JSON form: rego-cpp refused them and printed the whole
            # data document (which may hold secrets) to stdout.
            data_json = json.dumps(data, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise EngineFailure(f"the policies do not compile: {_first_line(exc)}") from exc
        try:
            self._rego, self._bundle = _build(modules, data_json)
        except _ModuleRefused as exc:
            raise EngineFailure(f"the policies do not compile: {exc}") from exc
        except EngineFailure as exc:
            culprits = _compiles_without(modules, data_json)
            where = f"; they compile without {' or '.join(culprits)}" if culprits else ""
            raise EngineFailure(f"the policies do not compile: {exc}{where}") from exc
        unassigned = _unassigned_variables(self._bundle, dict(modules))
        if unassigned:
            raise EngineFailure(f"the policies do not compile: {unassigned}")
        self._pattern_pieces = input_pattern_pieces(data)

    def evaluate(self, entrypoint: str, policy_input: Mapping[str, Any]) -> Any:
        """The value of ``entrypoint`` over ``policy_input``; ``None`` when undefined."""
        input_json = policy_input_json(policy_input, self._pattern_pieces)
        return self._query(entrypoint, input_json)[1]

    def evaluate_json(self, entrypoint: str, input_json: str) -> str:
        """The result for ``entrypoint`` over an input made by ``policy_input_json``, as JSON
        text that ``first_expression`` reads (what an evaluator process sends back:
        ``policies.isolated_rego``); the value is read as ``evaluate`` reads it."""
        defined, value = self._query(entrypoint, input_json)
        if not defined:
            return "undefined"
        return json.dumps({"expressions": [value]})  # an infinity as Infinity, read back as one

    def _query(self, entrypoint: str, input_json: str) -> tuple[bool, Any]:
        try:
            policy_input = json.loads(input_json)
        except ValueError as exc:
            raise EngineFailure(f"evaluation failed: {_first_line(exc)}") from exc
        with self._lock:
            return _query(self._rego, self._bundle, entrypoint, policy_input)


def _query(rego: Any, bundle: Any, entrypoint: str, policy_input: Any) -> tuple[bool, Any]:
    """(defined, value) of ``entrypoint`` over ``policy_input`` (read by ``_first_value``)."""
    from regopy import Input
    from regopy.rego_shared import rego_bundle_query_entrypoint, rego_free_output

    try:
        rego.set_input(Input(policy_input))
        # Not query_bundle_entrypoint: its Output parses the result text as JSON, which it
        # need not be (see _first_value), nor is an error that comes back as a result.
        output = rego_bundle_query_entrypoint(rego._impl, bundle._impl, entrypoint)
    except Exception as exc:
        raise EngineFailure(f"evaluation failed: {_first_line(exc)}") from exc
    try:
        return _first_value(output)
    finally:
        rego_free_output(output)


def input_pattern_pieces(data: Mapping[str, Any]) -> tuple[frozenset[str] | None, ...] | None:
    """Which secret patterns may match each string, told in Python (policies.long_strings):
    this interpreter's regular expressions backtrack, 6 ms for a window of random letters and
    digits. Read from the data document the rules read, so the indexes agree."""
    config = data.get(DATA_ROOT)
    return secret_pattern_pieces(
        config.get("secret_patterns") if isinstance(config, Mapping) else None)


def policy_input_json(policy_input: Mapping[str, Any],
                      pattern_pieces: tuple[frozenset[str] | None, ...] | None) -> str:
    """``policy_input`` with its pattern hints, as the JSON text the interpreter is given."""
    if pattern_pieces is not None:
        policy_input = with_pattern_hints(policy_input, pattern_pieces)
    try:
        return json.dumps(policy_input, default=str)
    except Exception as exc:  # noqa: BLE001 - a value nested too deep, a cycle: fail closed
        raise EngineFailure(f"evaluation failed: {_first_line(exc)}") from exc


# Statements that read the local given by their first bare local index (every other bare
# index names a local the statement writes or builds); a local inside an operand is read.
_READS_FIRST_LOCAL = frozenset({
    "rego-isdefinedstmt", "rego-isundefinedstmt", "rego-returnlocalstmt", "rego-scanstmt",
    "rego-resultsetaddstmt", "rego-isarraystmt", "rego-isobjectstmt", "rego-issetstmt",
})


def _unassigned_variables(bundle: Any, sources: Mapping[str, str]) -> str:
    """'file:line:column: expression: ...' for each expression of the compiled rules that
    reads a variable nothing assigns ('' if none): a name defined nowhere, such as a
    misspelt rule, which OPA refuses as unsafe and rego-cpp compiles into an expression
    that never holds."""
    from regopy.rego_shared import rego_bundle_node

    try:
        found = [_where(statement, function, sources)
                 for function in _bodies(_child(rego_bundle_node(bundle._impl), "rego-policy"))
                 for statement in _unassigned_reads(function)]
    except (ValueError, LookupError) as exc:
        raise EngineFailure(f"the compiled policies could not be checked: {exc}") from exc
    return "; ".join(dict.fromkeys(found[:3]))


def _bodies(node: Any) -> Iterator[Any]:
    """Each compiled function and plan (entry point) under ``node``."""
    for child in _children(node):
        if _type_name(child) in ("rego-function", "rego-plan"):
            yield child
        else:
            yield from _bodies(child)


def _unassigned_reads(body: Any) -> list[Any]:
    """The first statement reading each local of a function or plan that none writes.

    rego-cpp gives a variable one local for all the bodies of a rule (each ``deny contains
    msg`` rule's ``msg`` is one local), so each body (a block statement at the top of the
    function) is judged on its own writes, beside the function's own (its parameters, its
    result, the statements outside any body).
    """
    written = {0, 1} if _type_name(body) == "rego-plan" else set()  # input, data
    outside: dict[int, Any] = {}
    units: list[tuple[set[int], dict[int, Any]]] = []
    for child in _children(body):
        kind = _type_name(child)
        if kind == "rego-parameterseq":
            written.update(_local(index) for index in _children(child))
        elif kind == "rego-localindex":  # a function's result
            written.add(_local(child))
        elif kind == "rego-blockseq":
            for block in _children(child):
                for statement in _children(block):
                    kind = _type_name(statement)
                    if kind == "rego-blockstmt":
                        units.append((set(), {}))
                        _scan_statement(statement, kind, *units[-1])
                    else:
                        _scan_statement(statement, kind, written, outside)
    everywhere = written.union(*(unit_written for unit_written, _ in units))
    found = [statement for local, statement in outside.items() if local not in everywhere]
    for unit_written, reads in units:
        found += [statement for local, statement in reads.items()
                  if local not in unit_written and local not in written]
    return found


def _scan(block: Any, written: set[int], reads: dict[int, Any]) -> None:
    """Record which locals the statements under ``block`` write and read."""
    for statement in _children(block):
        kind = _type_name(statement)
        if kind.endswith("stmt"):
            _scan_statement(statement, kind, written, reads)
        else:
            _scan(statement, written, reads)


def _scan_statement(statement: Any, kind: str, written: set[int], reads: dict[int, Any]) -> None:
    """Record which locals ``statement`` (its nested blocks too) writes and reads."""
    first = True
    for part in _children(statement):
        part_kind = _type_name(part)
        if part_kind == "rego-localindex":
            if first and kind in _READS_FIRST_LOCAL:
                reads.setdefault(_local(part), statement)
            else:
                written.add(_local(part))
            first = False
        elif part_kind in ("rego-operand", "rego-operandseq"):
            for local in _operand_locals(part):
                reads.setdefault(local, statement)
        elif part_kind in ("rego-block", "rego-blockseq"):
            _scan(part, written, reads)


def _operand_locals(node: Any) -> Iterator[int]:
    for child in _children(node):
        if _type_name(child) == "rego-localindex":
            yield _local(child)
        else:
            yield from _operand_locals(child)


def _where(statement: Any, function: Any, sources: Mapping[str, str]) -> str:
    """'file:line:column: expression: ...' for a statement (its text is where it starts)."""
    what = "a name in it is defined nowhere (a variable nothing assigns; OPA: var is unsafe)"
    for node in (statement, function):
        text = _node_text(node)
        places = [(name, source.find(text)) for name, source in sources.items()
                  if text and text in source]
        if places:
            name, offset = places[0]
            others = f" (or {len(places) - 1} more places)" if len(places) > 1 else ""
            expression = " ".join(text.splitlines()[0].split())[:80]
            where = _line_and_column(sources[name], len(sources[name][:offset].encode()))
            return f"{name}{where}{others}: {expression}: {what}"
    return f"a rule of the policies: {what}"


def _children(node: Any) -> list[Any]:
    from regopy.rego_shared import rego_node_get, rego_node_size

    return [rego_node_get(node, index) for index in range(rego_node_size(node))]


def _child(node: Any, kind: str) -> Any:
    for child in _children(node):
        if _type_name(child) == kind:
            return child
    raise LookupError(f"the compiled bundle has no {kind}")


def _local(node: Any) -> int:
    return int(_node_text(node))


def _type_name(node: Any) -> str:
    # Not regopy's rego_node_type_name: it leaves no room for the terminating NUL and fails.
    from regopy.rego_shared import rego

    return _c_text(rego.regoNodeTypeNameSize, rego.regoNodeTypeName, node)


def _node_text(node: Any) -> str:
    """A node's value: a scalar's text, or the source text where a statement starts."""
    from regopy.rego_shared import rego

    return _c_text(rego.regoNodeValueSize, rego.regoNodeValue, node)


def _c_text(size_of: Any, read: Any, node: Any) -> str:
    import ctypes

    size = size_of(node) + 1
    buffer = ctypes.create_string_buffer(size)
    if read(node, buffer, size) != 0:
        raise ValueError("rego-cpp gave no text for a node of the compiled bundle")
    return buffer.value.decode("utf-8", errors="replace")


def _check_output(output: Any) -> Any:
    """The root node of a query's output; ``EngineFailure`` naming the error when it is one."""
    from regopy.rego_shared import NodeKind, rego_output_node, rego_output_ok

    if not rego_output_ok(output):
        raise EngineFailure(f"evaluation failed: {_error_messages(rego_output_node(output))}")
    node = rego_output_node(output)
    if _kind(node) in (NodeKind.Error, NodeKind.ErrorSeq):
        raise EngineFailure(f"evaluation failed: {_error_messages(node)}")
    return node


# rego-cpp's node kinds (rego_c.h), as regoNodeType gives them.
_TERM, _SCALAR, _ARRAY, _SET, _OBJECT = 1002, 1003, 1004, 1005, 1006
_INT, _FLOAT, _STRING, _TRUE, _FALSE, _NULL = 1008, 1009, 1010, 1011, 1012, 1013
_UNDEFINED, _TERMS, _RESULT = 1014, 1015, 1018
# The order rego-cpp writes a set's members in: null, booleans, numbers, strings, sets,
# arrays, objects.
_RANK = {_NULL: 0, _FALSE: 1, _TRUE: 1, _INT: 2, _FLOAT: 2, _STRING: 3, _SET: 4, _ARRAY: 5,
         _OBJECT: 6}


def _first_value(output: Any) -> tuple[bool, Any]:
    """(defined, value) of the first expression of a query's first result.

    Read from the result's node tree, not from its text: rego-cpp holds a string of the data
    or of a rule as its JSON text (escaped), but a string of the input as it was given (regopy
    passes it unescaped), and writes each as it holds it into the result text. A quote in an
    input string could end its string there and add keys to the result; a backslash made the
    text invalid JSON (``evil\\x41.example.org``). In the tree the structure is the nodes'.
    A string is read as JSON when it is a well-formed JSON string (data, rules: rego-cpp
    parsed it so), and as it is otherwise (the input, as it was given); a string of the input
    that happens to be well-formed JSON, such as ``\\u0041``, reads as JSON does (``A``), and
    one in quotes (``"x"``) without them, as rego-cpp's own built-ins read it. Sets and
    objects are given in the order rego-cpp writes them (a deny set's messages, sorted).
    Anything else (a node kind not expected, a number that is not one, a result nested past
    Python's recursion limit) is an ``EngineFailure``.
    """
    root = _check_output(output)
    try:
        if _node_type(root) == _UNDEFINED:
            return False, None
        results = [node for node in _children(root) if _node_type(node) == _RESULT]
        terms = [node for node in _children(results[0]) if _node_type(node) == _TERMS] \
            if results else []
        expressions = _children(terms[0]) if terms else []
        return True, (_value(expressions[0]) if expressions else None)
    except EngineFailure:
        raise
    except Exception as exc:  # noqa: BLE001 - regopy's errors too: never a traceback
        cause = _first_line(exc)
        raise EngineFailure(f"evaluation failed: the result could not be read ({cause})") from exc


_library: Any = None


def _lib() -> Any:
    """regopy's loaded library (its functions called directly: a result has many nodes)."""
    global _library
    if _library is None:
        from regopy.rego_shared import rego

        _library = rego
    return _library


def _node_type(node: Any) -> int:
    return int(_lib().regoNodeType(node))


def _unwrapped(node: Any) -> tuple[int, Any]:
    """(kind, node) of the value a term or scalar node holds (of ``node`` itself otherwise)."""
    kind = _node_type(node)
    while kind in (_TERM, _SCALAR):
        children = _children(node)
        if len(children) != 1:
            raise ValueError(f"a {_type_name(node)} of {len(children)} nodes")
        node = children[0]
        kind = _node_type(node)
    return kind, node


def _node_bytes(node: Any) -> bytes:
    library = _lib()
    size = library.regoNodeValueSize(node) + 1
    buffer = ctypes.create_string_buffer(size)
    if library.regoNodeValue(node, buffer, size) != 0:
        raise ValueError("rego-cpp gave no text for a node of the result")
    return buffer.value


def _value(node: Any) -> Any:
    kind, node = _unwrapped(node)
    if kind == _STRING:
        return _string(_string_bytes(node))
    if kind in (_INT, _FLOAT):
        return _number(kind, _node_bytes(node).decode("ascii"))
    if kind in (_TRUE, _FALSE, _NULL):
        return {_TRUE: True, _FALSE: False, _NULL: None}[kind]
    if kind == _ARRAY:
        return [_value(child) for child in _children(node)]
    if kind == _SET:
        members = sorted((_placed(child) for child in _children(node)), key=lambda m: m[0])
        return [value for _, value in members]
    if kind == _OBJECT:
        items = []
        for item in _children(node):
            pair = _children(item)
            if len(pair) != 2:
                raise ValueError("an object item that is no key and value")
            kind, key_node = _unwrapped(pair[0])
            if kind == _STRING:
                raw = _string_bytes(key_node)
                key = _string(raw)
            else:  # written as its JSON text, quoted
                from regopy.rego_shared import rego_node_json

                key = rego_node_json(key_node)
                raw = key.encode("utf-8")
            items.append((raw, key, pair[1]))
        found: dict[str, Any] = {}
        for _, key, value in sorted(items, key=lambda item: item[0]):  # as rego-cpp writes them
            found.setdefault(key, _value(value))  # and the first of a key only
        return found
    raise ValueError(f"a {_type_name(node)} node")


def _placed(node: Any) -> tuple[tuple[Any, ...], Any]:
    """(where rego-cpp writes ``node`` among a set's members, its value): by kind, then
    numbers by value, strings by their bytes, others by their JSON text."""
    kind, node = _unwrapped(node)
    rank = _RANK.get(kind, len(_RANK))
    if kind == _STRING:
        raw = _string_bytes(node)
        return (rank, raw), _string(raw)
    value = _value(node)
    if kind in (_INT, _FLOAT, _TRUE, _FALSE):
        return (rank, value), value
    if kind == _NULL:
        return (rank,), value
    from regopy.rego_shared import rego_node_json

    return (rank, rego_node_json(node).encode("utf-8")), value


def _string_bytes(node: Any) -> bytes:
    raw = _node_bytes(node)
    # Held with its quotes or without them; rego-cpp's built-ins read it without.
    return raw[1:-1] if len(raw) >= 2 and raw[0] == raw[-1] == 0x22 else raw


def _string(raw: bytes) -> str:
    text = raw.decode("utf-8")
    if "\\" not in text:
        return text
    try:
        decoded = json.loads(f'"{text}"')  # strict: a bare quote or control character fails
    except ValueError:
        return text  # a string of the input, with a backslash that is no JSON escape
    return readable(decoded)  # an escape writes no NUL, control character or lone surrogate


def _number(kind: int, text: str) -> int | float:
    if kind == _INT:
        return int(text)
    number = float(text)
    if math.isnan(number):
        raise ValueError(f"the number {text} is not a number")
    if math.isinf(number):  # 1e400: the checks of a result's shape refuse it where it counts
        return number
    # As rego-cpp writes it into the result text (16 significant digits: 2.0 is 2, 0.1 + 0.2
    # is 0.3), which is how it was read before.
    return json.loads(format(number, ".16g"))


def first_expression(text: str) -> Any:
    """The first expression of the first result in ``text`` (``evaluate_json``'s)."""
    if text == "undefined":
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise EngineFailure(f"evaluation failed: the result is not JSON ({exc})") from exc
    results = value if isinstance(value, list) else [value]
    first = results[0] if results and isinstance(results[0], Mapping) else {}
    expressions = first.get("expressions")
    return expressions[0] if isinstance(expressions, list) and expressions else None


def _kind(node: Any) -> Any:
    from regopy.rego_shared import rego_node_type

    try:
        return rego_node_type(node)
    except ValueError:  # a kind this regopy has no name for: not one of the error kinds
        return None


def _error_messages(root: Any) -> str:
    """The messages in a rego-cpp error tree, joined; never its ``errorast`` (see module doc)."""
    from regopy.rego_shared import NodeKind, rego_node_get, rego_node_size, rego_node_value

    messages: list[str] = []
    stack = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        kind = _kind(node)
        if kind == NodeKind.ErrorMessage:
            text = " ".join(rego_node_value(node).split())
            if text and text not in messages:
                messages.append(text)
        elif kind in (NodeKind.ErrorSeq, NodeKind.Error) and depth < 4:
            size = rego_node_size(node)
            stack.extend((rego_node_get(node, index), depth + 1)
                         for index in reversed(range(size)))
    if not messages:
        return "the interpreter reported an error without a message"
    return "; ".join(messages[:3])[:300]


_ERROR_AT = re.compile(r"\(error (\d+):")
_SPAN = re.compile(r"\|(\d+)\|\d+")
_MESSAGE = re.compile(r"\(errormsg (\d+):")


def _syntax_errors(exc: object, sources: Mapping[str, str]) -> str:
    """'file:line:column: message' for each error of a module rego-cpp refused ('' if none).

    Its error text gives each location as (name length):name|offset|length, and each
    message as (length):message.
    """
    text = str(exc)
    found: list[str] = []
    for match in _ERROR_AT.finditer(text):
        name = text[match.end():match.end() + int(match.group(1))]
        rest = match.end() + len(name)
        span = _SPAN.match(text, rest)
        message = _MESSAGE.search(text, rest)
        if message is None:
            continue
        what = text[message.end():message.end() + int(message.group(1))]
        where = _line_and_column(sources.get(name), int(span.group(1))) if span else ""
        found.append(f"{name}{where}: {' '.join(what.split())}")
    return "; ".join(dict.fromkeys(found[:3]))


def _line_and_column(source: str | None, offset: int) -> str:
    """':line:column' of a byte ``offset`` into ``source`` ('' when unknown)."""
    if source is None:
        return ""
    before = source.encode("utf-8")[:offset]
    line = before.count(b"\n") + 1
    column = len(before) - (before.rfind(b"\n") + 1) + 1
    return f":{line}:{column}"


_ERRORMSG = re.compile(r"\(error \d+:([^|\s]+)\|[^(]*\(errormsg \d+:([^)]*)\)")


def _first_line(exc: object) -> str:
    """A short cause: rego-cpp's error trees reduced to 'file: message' pairs."""
    text = str(exc).strip() or type(exc).__name__
    found = _ERRORMSG.findall(text)
    if found:
        return "; ".join(f"{where}: {what}" for where, what in found[:3])
    return " ".join(text.split())[:300]


_CACHE: dict[str, CompiledPolicies | EngineFailure] = {}
_CACHE_LOCK = threading.Lock()


def compiled_for(bundle: PolicyBundle) -> CompiledPolicies:
    """The compiled form of ``bundle``, built once per bundle hash and reused.

    A bundle that does not compile is remembered too: each decision would otherwise build
    it again (and look again for the module at fault) only to fail the same way.
    """
    key = bundle.bundle_hash
    with _CACHE_LOCK:
        if key not in _CACHE:
            try:
                _CACHE[key] = CompiledPolicies(bundle.modules, bundle.data_document())
            except EngineFailure as exc:
                _CACHE[key] = exc
        compiled = _CACHE[key]
    if isinstance(compiled, EngineFailure):
        raise EngineFailure(str(compiled))
    return compiled


def compile_problem(bundle: PolicyBundle) -> str | None:
    """Why the embedded engine cannot judge with ``bundle``, if it cannot (it compiles it)."""
    try:
        compiled_for(bundle)
    except EngineFailure as exc:
        return str(exc)
    return None


_PATTERNS_MODULE = ("patterns.rego", "package baton_patterns\nimport rego.v1\n"
                    "valid := [regex.is_valid(p) | some p in data.patterns]\n"
                    "one_valid := regex.is_valid(data.patterns[input.index])\n")


def invalid_patterns(patterns: Iterable[str]) -> list[int]:
    """The indexes of ``patterns`` that this interpreter's ``regex.match`` fails on.

    Its own check, not Python's ``re``: its dialect is not Python's (no inline flags such
    as ``(?i)``). The patterns go in as data, since that is where the policies read them.
    A pattern it cannot even check (a ``\\x`` or ``\\u`` escape: "Invalid escape sequence",
    where a pattern it cannot compile is only not valid) fails the check of them all: each
    is then checked alone, and one whose check fails is one it cannot read.
    """
    listed = list(patterns)
    rego, bundle = _build([_PATTERNS_MODULE], json.dumps({"patterns": listed}),
                          ["baton_patterns/valid", "baton_patterns/one_valid"])
    try:
        flags = _query(rego, bundle, "baton_patterns/valid", {})[1]
    except EngineFailure:
        flags = [_checks(rego, bundle, index) for index in range(len(listed))]
    if not isinstance(flags, list) or len(flags) != len(listed):
        raise EngineFailure("the interpreter could not check the patterns")
    return [index for index, ok in enumerate(flags) if ok is not True]


def _checks(rego: Any, bundle: Any, index: int) -> bool:
    try:
        return _query(rego, bundle, "baton_patterns/one_valid", {"index": index})[1] is True
    except EngineFailure:
        return False


class EmbeddedEngine(FailClosedEngine):
    """Policy engine that evaluates the bundle in-process with regopy."""

    name = ENGINE_NAME

    def __init__(self, bundle: PolicyBundle) -> None:
        self.bundle = bundle
        self.bundle_hash = bundle.bundle_hash

    def _evaluate(self, rule: str, policy_input: Mapping[str, Any]) -> Any:
        return compiled_for(self.bundle).evaluate(f"baton/{rule}", policy_input)
