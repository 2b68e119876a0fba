"""The ledger: an append-only, hash-chained audit log of everything Baton decided and did.

``hash = sha256(prev_hash + canonical(event))`` where the event holds seq, at,
kind, subject, actor and payload. Appends are serialised (one writer at a
time) so the chain never forks; ``verify`` recomputes it and names the first
broken event.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import DateTime, String, Text, and_, case, cast, func, text, type_coerce
from sqlalchemy import insert as sa_insert
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine, Row
from sqlmodel import Session

from planner.plan import canonical_json
from tools.redaction import redact

from .errors import BrokenEventError
from .store.db import read_transaction
from .store.schema import LedgerRow

GENESIS_HASH = "0" * 64
# Rows a long read (iterate, verify, export) takes per transaction: it holds one batch in
# memory, and nothing in the database between batches.
READ_BATCH_ROWS = 1000

_TABLE = LedgerRow.__table__  # type: ignore[attr-defined]
_LAST_EVENT = sa_select(_TABLE.c.seq, _TABLE.c.hash).order_by(_TABLE.c.seq.desc()).limit(1)
_FIRST_EVENT = sa_select(_TABLE.c.seq, _TABLE.c.hash).order_by(_TABLE.c.seq).limit(1)
_INSERT_EVENT = sa_insert(_TABLE)
_EVENT_FIELDS = (_TABLE.c.kind, _TABLE.c.subject, _TABLE.c.actor, _TABLE.c.payload,
                 _TABLE.c.prev_hash, _TABLE.c.hash)
# Rows are read with ``at`` as stored and parsed one by one: a malformed value (SQLite keeps
# whatever text it is given) is then a broken event naming its seq, not a failed query.
_READ_EVENTS = sa_select(_TABLE.c.seq, type_coerce(_TABLE.c.at, String).label("at"),
                         *_EVENT_FIELDS).order_by(_TABLE.c.seq)
# PostgreSQL's driver turns a timestamp into a datetime itself, and fails the whole query on one
# Python cannot hold ('infinity', year 10000, BC): such a time is read as NULL, its text beside
# it, so that it too is a broken event naming its seq. The bounds keep a day's margin inside
# Python's years 1 to 9999 for the session's time zone; no event was recorded that near them.
_PG_TIME_HELD = and_(func.isfinite(_TABLE.c.at),
                     _TABLE.c.at > datetime(1, 1, 2, tzinfo=UTC),
                     _TABLE.c.at < datetime(9999, 12, 30, tzinfo=UTC))
_PG_READ_EVENTS = sa_select(_TABLE.c.seq,
                            case((_PG_TIME_HELD, _TABLE.c.at), else_=None).label("at"),
                            cast(_TABLE.c.at, Text).label("at_text"),
                            *_EVENT_FIELDS).order_by(_TABLE.c.seq)


class EventKind(str, enum.Enum):
    """Every kind of event the ledger records."""

    GOAL = "goal"
    LLM_EXCHANGE = "llm_exchange"
    PLAN_VERSION = "plan_version"
    VALIDATION = "validation"
    DECISION = "decision"
    APPROVAL = "approval"
    # A version approved by its gate without a new approval: those given count again.
    GATE_COMPLETE = "gate_complete"
    REJECTION = "rejection"
    TEMPLATE_SAVED = "template_saved"
    RUN_START = "run_start"
    RUN_RESUME = "run_resume"
    ATTEMPT_START = "attempt_start"
    ATTEMPT_SUCCESS = "attempt_success"
    ATTEMPT_FAILURE = "attempt_failure"
    STEP_CHECK = "step_check"
    CANCEL_REQUEST = "cancel_request"  # someone asked a run to stop (actor: who)
    RUN_CANCEL = "run_cancel"  # the run stopped because of it
    RUN_END = "run_end"


class SystemActor(str, enum.Enum):
    """The actors Baton records its own events under; every other actor is a user id.

    No user may take one of these ids, nor one that reads as one ('Policy', a fullwidth
    'ｇａｔｅ': ``baton.settings_user_lookalikes``): an approval by a user 'policy' would
    read as the engine's, and an auditor could not tell the two apart.
    """

    POLICY = "policy"  # the policy engine's decision on a plan version
    GATE = "gate"  # a version approved by the approvals it already had (GATE_COMPLETE)
    EXECUTOR = "executor"  # steps tried, runs resumed, cancelled and ended by the runner
    PLANNER = "planner"  # what a planner writes by itself (none records under it yet)


class LedgerEvent(BaseModel):
    """One recorded event, as read back from the ledger."""

    model_config = ConfigDict(frozen=True)

    seq: int = Field(description="Position in the chain, from 1.")
    at: datetime = Field(description="When it was appended (UTC).")
    kind: str = Field(description="Event kind (see EventKind).")
    subject: str = Field(description="What it is about: a plan id, a run id...")
    actor: str = Field(description="Who caused it: a user id, or Baton itself ('policy', "
                                   "'executor'...: SystemActor).")
    payload: dict[str, Any] = Field(description="Event details (secrets redacted).")
    prev_hash: str = Field(description="Hash of the previous event.")
    hash: str = Field(description="sha256(prev_hash + canonical(event)).")


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of recomputing the chain."""

    ok: bool
    events: int
    first_broken_seq: int | None = None
    reason: str | None = None
    # (seq, hash) of the last event found intact, as verification read it (None: none): the
    # head to record, immune to events appended since.
    head: tuple[int, str] | None = None


_SEQ = re.compile(r"[0-9]{1,19}")
# The text SQLite holds for an event's time, as the writer stores it: naive UTC, microseconds.
_RECORDED_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}")


def parse_head(value: str) -> tuple[int, str]:
    """Parse ``SEQ:HASH`` (a head as :func:`head_text` writes it) into (seq, hash).

    Blanks around either part and upper-case hex are accepted; anything else is a
    ValueError saying what is expected, for the caller to prefix with its option's name.
    """
    seq_text, sep, digest = value.partition(":")
    seq_text, digest = seq_text.strip(), digest.strip().lower()
    # ASCII digits only: isdigit() (and int()) also take '²', '١' or '１'; 19 fit a 64-bit seq.
    if not sep or not _SEQ.fullmatch(seq_text) or int(seq_text) < 1 or len(digest) != 64 \
            or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError("must be SEQ:HASH (a positive seq and a 64-hex sha256), "
                         f"got {value[:200]!r}")
    return int(seq_text), digest


def head_text(head: tuple[int, str]) -> str:
    """A head as ``SEQ:HASH``: what a reader records outside Baton and gives back to verify."""
    return f"{head[0]}:{head[1]}"


def event_hash(prev_hash: str, seq: int, at: datetime, kind: str, subject: str, actor: str,
               payload: Any) -> str:
    """The chain hash of one event."""
    body = canonical_json({"seq": seq, "at": _iso(at), "kind": kind, "subject": subject,
                           "actor": actor, "payload": payload})
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


_SCALARS = (str, int, float, bool, type(None))


def json_native(value: Any) -> bool:
    """Whether ``value`` is exactly what ``json.loads`` returns: dicts with str keys, lists, plain scalars.

    For such a value ``canonical_json(json.loads(canonical_json(v)))`` is
    ``canonical_json(v)``; tuples, enums and non-str keys (which sort
    differently once turned into strings) are not. Nor is a value holding one container
    twice (shared, or inside itself), which ``json.loads`` never makes: so the walk ends,
    each container looked into once, however deep (a stack, not recursion), cyclic or
    shared the value.
    """
    stack = [value]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict or kind is list:
            if id(item) in seen:
                return False
            seen.add(id(item))
            if kind is list:
                stack.extend(item)
                continue
            for key in item:
                if type(key) is not str:
                    return False
            stack.extend(item.values())
        elif kind not in _SCALARS:
            return False
    return True


_dumps = json.JSONEncoder(ensure_ascii=False).encode
# Kinds, actors and subjects repeat from event to event (a run appends two per step).
_quoted = functools.lru_cache(maxsize=1024)(_dumps)


def _hash_body(prev_hash: str, seq: int, at: datetime, kind: str, subject: str, actor: str,
               payload_json: str) -> str:
    """:func:`event_hash` given the payload's canonical JSON (keys in sorted order by hand)."""
    body = (f'{{"actor":{_quoted(actor)},"at":"{_iso(at)}","kind":{_quoted(kind)},'
            f'"payload":{payload_json},"seq":{int(seq)},"subject":{_quoted(subject)}}}')
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def hashed_time(at: datetime) -> str:
    """``at`` exactly as the chain hash takes it: UTC, no offset, microseconds.

    "2026-12-06T02:06:09.000000": exports carry it so that an event re-hashes from them.
    """
    return _iso(at)


def _iso(at: datetime) -> str:
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at.isoformat(timespec="microseconds")


class Ledger:
    """Appends to and reads the ledger table through one engine."""

    def __init__(self, engine: Engine, *, secret_values: Iterable[str] = ()) -> None:
        self._engine = engine
        self._secrets = [s for s in secret_values if s]

    @functools.cached_property
    def _read_events(self) -> Any:
        """The query reading events in chain order, as this database can read every row."""
        return _PG_READ_EVENTS if self._engine.dialect.name == "postgresql" else _READ_EVENTS

    @functools.cached_property
    def _parse_at(self) -> Callable[[Any], Any] | None:
        """How SQLAlchemy turns a stored ``at`` into a datetime (None: the driver already does)."""
        dialect = self._engine.dialect
        return DateTime().dialect_impl(dialect).result_processor(dialect, None)

    @functools.cached_property
    def _format_at(self) -> Callable[[Any], Any] | None:
        """How SQLAlchemy stores a datetime as ``at`` (None: the driver does)."""
        dialect = self._engine.dialect
        return DateTime().dialect_impl(dialect).bind_processor(dialect)

    @property
    def secret_values(self) -> tuple[str, ...]:
        """The values this ledger masks; the run loop masks outputs and errors with them too."""
        return tuple(self._secrets)

    def append(self, kind: EventKind | str, subject: str, actor: str,
               payload: dict[str, Any] | None = None, *, session: Session | None = None) -> LedgerEvent:
        """Append one event (in ``session``'s transaction when given) and return it."""
        if session is not None:
            return self._append(session, kind, subject, actor, payload or {})
        with Session(self._engine) as own:
            event = self._append(own, kind, subject, actor, payload or {})
            own.commit()
            return event

    def _append(self, session: Session, kind: EventKind | str, subject: str, actor: str,
                payload: dict[str, Any]) -> LedgerEvent:
        # SQLAlchemy Core, not ORM rows: this runs twice per attempt, and the ORM
        # unit of work cost more than the commit itself.
        self._lock(session)
        last = session.execute(_LAST_EVENT).first()
        row, clean = self.link(last, kind, subject, actor, payload)
        session.execute(_INSERT_EVENT, row)
        return LedgerEvent(**{**row, "payload": clean})

    def link(self, last: tuple[int, str] | None, kind: EventKind | str, subject: str, actor: str,
             payload: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        """The row that follows ``last`` (seq, hash; None: genesis) and its redacted payload.

        The one place an event is redacted and hashed: ``append`` and the
        executor's raw hot path (``executor.store.hot``) both build rows here.
        """
        redacted = redact(payload, self._secrets)
        stored_payload = canonical_json(redacted)
        seq = (last[0] + 1) if last else 1
        prev = last[1] if last else GENESIS_HASH
        at = datetime.now(UTC)
        kind_value = kind.value if isinstance(kind, EventKind) else str(kind)
        if json_native(redacted):
            # Already what json.loads would give back: hash the text just made
            # instead of parsing it and serialising it again (same bytes).
            clean = redacted
            digest = _hash_body(prev, seq, at, kind_value, subject, actor, stored_payload)
        else:
            # Tuples, enums, non-string keys: stored as the canonical text of what reading it
            # back gives ({10: .., 9: ..} sorts as numbers, its text as strings), which is
            # both what is hashed and what verify requires the stored text to be.
            clean = json.loads(stored_payload)
            stored_payload = canonical_json(clean)
            digest = _hash_body(prev, seq, at, kind_value, subject, actor, stored_payload)
        return {"seq": seq, "at": at, "kind": kind_value, "subject": subject, "actor": actor,
                "payload": stored_payload, "prev_hash": prev, "hash": digest}, clean

    def _lock(self, session: Session) -> None:
        # SQLite transactions start with BEGIN IMMEDIATE (see store.db), which
        # already serialises writers; PostgreSQL needs an explicit lock.
        if self._engine.dialect.name == "postgresql":
            session.exec(text("SELECT pg_advisory_xact_lock(727274)"))  # type: ignore[call-overload]

    def events(self, *, subject: str | None = None, kinds: Iterable[str] | None = None,
               after_seq: int = 0, limit: int | None = None) -> list[LedgerEvent]:
        """Events in chain order, optionally for one subject and/or some kinds."""
        return list(self.iter_events(subject=subject, kinds=kinds, after_seq=after_seq, limit=limit))

    def iter_events(self, *, subject: str | None = None, kinds: Iterable[str] | None = None,
                    after_seq: int = 0, limit: int | None = None) -> Iterator[LedgerEvent]:
        """Stream events in chain order; ``BrokenEventError`` at a row that cannot be read back."""
        query = _filtered(self._read_events.where(_TABLE.c.seq > after_seq), subject, kinds)
        for row in self._stored(query, limit):
            yield self._to_event(row)

    def latest(self, *, subject: str | None = None, kinds: Iterable[str] | None = None,
               limit: int) -> list[LedgerEvent]:
        """The last ``limit`` events (of ``subject``, of ``kinds``), in chain order.

        One query reading from the end of the chain: only those rows, however long the ledger.
        """
        query = _filtered(self._read_events.order_by(None), subject, kinds)
        newest_first = query.order_by(_TABLE.c.seq.desc()).limit(limit)
        with read_transaction(self._engine) as connection:
            rows = connection.execute(newest_first).all()
        return [self._to_event(row) for row in reversed(rows)]

    def _stored(self, query: Any, limit: int | None = None) -> Iterator[Row[Any]]:
        """The rows of ``query`` in seq order, at most ``limit``, up to the head seen at the start.

        ``READ_BATCH_ROWS`` at a time, keyed on seq, each batch a read-only transaction of its
        own that is over before its rows are handed on: a reader that stops or goes slowly
        (an export to a slow client) holds nothing a writer waits for, and a long ledger is
        not loaded whole. Events are never updated, so the batches are together the ledger's
        prefix up to that head, as one query would have read it; events appended since are
        not read.
        """
        end: int | None = None
        after: int | None = None
        while limit is None or limit > 0:
            size = READ_BATCH_ROWS if limit is None else min(READ_BATCH_ROWS, limit)
            with read_transaction(self._engine) as connection:
                if end is None:
                    last = connection.execute(_LAST_EVENT).first()
                    if last is None:
                        return
                    end = last[0]
                batch = query.where(_TABLE.c.seq <= end)
                if after is not None:
                    batch = batch.where(_TABLE.c.seq > after)
                rows = connection.execute(batch.limit(size)).all()
            yield from rows
            if len(rows) < size:
                return
            after = rows[-1].seq
            limit = None if limit is None else limit - len(rows)

    def head(self) -> tuple[int, str] | None:
        """The last event's (seq, hash), or None when empty: record it outside to anchor the chain."""
        with read_transaction(self._engine) as connection:
            last = connection.execute(_LAST_EVENT).first()
        return (last[0], last[1]) if last else None

    def first(self) -> tuple[int, str] | None:
        """The first event's (seq, hash), or None when empty: its hash tells ledgers apart."""
        with read_transaction(self._engine) as connection:
            first = connection.execute(_FIRST_EVENT).first()
        return (first[0], first[1]) if first else None

    def verify(self, *, expect_head: tuple[int, str] | None = None) -> VerifyResult:
        """Recompute the whole chain; name the first event whose link, hash or contents are wrong.

        The chain is the one up to the head when verification starts: events appended
        meanwhile are left to the next verification (``head`` says where this one ended).
        The chain alone cannot reveal a suffix recomputed from some point on,
        nor a truncated tail: ``expect_head`` (a head recorded earlier,
        outside the database) must then be found in the chain unchanged.
        """
        prev = GENESIS_HASH
        expected_seq = 1
        count = 0
        head: tuple[int, str] | None = None
        for row in self._stored(self._read_events):
            count += 1
            problem = self._check_row(row, prev, expected_seq) or _check_anchor(row, expect_head)
            if problem:
                return VerifyResult(ok=False, events=count, first_broken_seq=row.seq,
                                    reason=problem, head=head)
            prev = row.hash
            expected_seq = row.seq + 1
            head = (row.seq, row.hash)
        if expect_head is not None and count < expect_head[0]:
            reason = (f"the ledger ends at event {count}, before the expected head {expect_head[0]} "
                      "(events were removed)")
            return VerifyResult(ok=False, events=count, first_broken_seq=count + 1, reason=reason,
                                head=head)
        return VerifyResult(ok=True, events=count, head=head)

    def _check_row(self, row: Row[Any], prev: str, expected_seq: int) -> str | None:
        if row.seq != expected_seq:
            return (f"event {row.seq}: expected seq {expected_seq} "
                    "(an event is missing or out of order)")
        if row.prev_hash != prev:
            return f"event {row.seq}: prev_hash does not match the hash of event {row.seq - 1}"
        try:
            at, payload = self._read(row)
            canonical = canonical_json(payload)
            digest = _hash_body(prev, row.seq, at, row.kind, row.subject, row.actor, canonical)
        except BrokenEventError as exc:
            return f"event {row.seq}: {exc.reason}"
        except (TypeError, ValueError):  # a field of a type no event has (SQLite stores any)
            return f"event {row.seq}: its fields are not of the types an event has"
        if digest != row.hash:
            return f"event {row.seq}: hash does not match its contents (the event was altered)"
        # The hash covers the value the text parses to; other text for that value (a duplicate
        # key another reader would take first, whitespace) is an alteration all the same.
        if row.payload != canonical and not _earlier_number_key_form(row.payload):
            return f"event {row.seq}: payload is not in its recorded form"
        return None

    def _read(self, row: Row[Any]) -> tuple[datetime, dict[str, Any]]:
        """The row's time and payload as an event has them; ``BrokenEventError`` when malformed."""
        at: Any = row.at
        if not isinstance(at, datetime):
            at = self._read_stored_time(row)
        # Naive: stored as naive UTC (the column type would have said so on read). Aware: in
        # the session's time zone (PostgreSQL's may be any), which events do not carry.
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
        try:
            payload = json.loads(row.payload)
        except (TypeError, ValueError):
            raise BrokenEventError(row.seq, "payload is not valid JSON") from None
        if not isinstance(payload, dict):
            raise BrokenEventError(row.seq, "payload is not a JSON object")
        return at, payload

    def _read_stored_time(self, row: Row[Any]) -> datetime:
        """The time of a row read as stored (SQLite's text; PostgreSQL's when out of range).

        It must be exactly the text the writer stores for the time it parses to (naive UTC,
        microseconds): the hash covers the instant, not the text, and other text for it (an
        offset, a "T", fewer digits) is an alteration that would be shown as it reads.
        """
        stored = row.at
        if self._format_at is not None and isinstance(stored, str) \
                and _RECORDED_TIME.fullmatch(stored):
            # The form the writer stores, read at C speed: verifying reads every row's time.
            try:
                return datetime.fromisoformat(stored)
            except ValueError:  # no such day (02-30): said below, as the slow path says it
                pass
        try:
            at = self._parse_at(stored) if self._parse_at is not None and stored is not None \
                else None
        except (TypeError, ValueError):
            at = None
        if not isinstance(at, datetime):
            stored = row._mapping.get("at_text", stored)  # PostgreSQL: the time as text
            raise BrokenEventError(row.seq, f"its time {stored!r} is not a valid timestamp")
        if self._format_at is not None and self._format_at(at) != stored:
            utc = at if at.tzinfo is None else at.astimezone(UTC).replace(tzinfo=None)
            raise BrokenEventError(row.seq, f"its time {stored!r} is not in its recorded form "
                                            f"(naive UTC: {self._format_at(utc)!r})")
        return at

    def _to_event(self, row: Row[Any]) -> LedgerEvent:
        at, payload = self._read(row)
        try:
            return LedgerEvent(seq=row.seq, at=at, kind=row.kind, subject=row.subject,
                               actor=row.actor, payload=payload, prev_hash=row.prev_hash,
                               hash=row.hash)
        except ValueError:  # pydantic's ValidationError: a field of the wrong type
            raise BrokenEventError(row.seq,
                                   "its fields are not of the types an event has") from None


_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _earlier_number_key_form(stored: str) -> bool:
    """Whether ``stored`` is how versions before the fix stored a payload with number keys.

    They stored the canonical JSON of the payload as given, so keys that were numbers
    (``{10: .., 9: ..}``) are in number order (``{"9":..,"10":..}``) while the hash was
    taken over string order. Such text is accepted when it is otherwise exactly canonical:
    compact, no duplicate key, every object's keys in string order or all numbers in number
    order.
    """
    in_order = True

    def keep_order(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal in_order
        keys = [key for key, _ in pairs]
        if len(set(keys)) != len(keys):
            in_order = False
        elif keys != sorted(keys):
            numbers = [n for n in map(_number_key, keys) if n is not None]
            in_order = in_order and len(numbers) == len(keys) and numbers == sorted(numbers)
        return dict(pairs)

    try:
        value = json.loads(stored, object_pairs_hook=keep_order)
    except ValueError:
        return False
    return in_order and _compact(value) == stored


def _number_key(key: str) -> float | None:
    """What a key ``json.dumps`` wrote for a number (or bool) key reads as; else None."""
    try:
        number = json.loads(key)
    except ValueError:
        return None
    return number if type(number) in (int, float, bool) else None


def _filtered(query: Any, subject: str | None, kinds: Iterable[str] | None) -> Any:
    """``query`` limited to the events of ``subject`` and of ``kinds`` (None: any)."""
    if subject is not None:
        query = query.where(_TABLE.c.subject == subject)
    if kinds is not None:
        query = query.where(_TABLE.c.kind.in_(list(kinds)))
    return query


def _check_anchor(row: Row[Any], expect_head: tuple[int, str] | None) -> str | None:
    if expect_head is None or row.seq != expect_head[0] or row.hash == expect_head[1]:
        return None
    return (f"event {row.seq}: hash differs from the recorded head "
            "(the chain was rewritten up to this event)")
