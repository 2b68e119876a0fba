"""The template library: versioned YAML files from one or more directories."""

from __future__ import annotations

import copy
import errno
import fnmatch
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from typing import Any, NamedTuple

import yaml
from pydantic import ValidationError

from planner.loading import YamlRefused, file_problem, read_scalars_as_json, strict_yaml_loader

from .model import Template, TemplateError
from .provenance import TemplateSource, file_digest

SHIPPED_DIR = Path(__file__).parent / "library"
# Matched in full (``fullmatch``): a ``$`` would match before a trailing newline.
_FILE_NAME = re.compile(r"(?P<name>[a-z][a-z0-9_-]{0,63})(?:\.v(?P<version>[1-9]\d*))?\.ya?ml")


def load_template_file(path: Path) -> Template:
    """Read one template file (``name.vN.yaml``, or a ``version`` field); TemplateError if bad."""
    return read_template_file(path)[0]


def read_template_file(path: Path) -> tuple[Template, str]:
    """:func:`load_template_file`, with the :func:`~.provenance.file_digest` of the bytes read:
    what a ``template_saved`` event is compared with (``provenance.pre_approval_of``)."""
    found = _FILE_NAME.fullmatch(path.name)
    if not found:
        raise TemplateError(f"{path}: template files are named NAME.vN.yaml (lower-case name)")
    data, digest = _read_document(path)
    data.setdefault("name", found["name"])
    if found["version"]:
        if "version" in data and data["version"] != int(found["version"]):
            raise TemplateError(f"{path}: file name says v{found['version']} "
                                f"but the version field says {data['version']}")
        data["version"] = int(found["version"])
    if data["name"] != found["name"]:
        raise TemplateError(f"{path}: file name says {found['name']!r} but name is {data['name']!r}")
    return _validated(data, path), digest


def read_new_template(path: Path) -> Template:
    """Read a template someone is adding: any file name; ``name`` from the document, else the file.

    Its version is whatever the library gives it when saved, so a ``version`` field is
    ignored; so is ``approved_by``, which saving sets to the acting user.
    """
    data = _read_mapping(path)
    if "name" not in data:
        found = _FILE_NAME.fullmatch(path.name)
        if not found:
            raise TemplateError(f"{path}: give the template a name (a 'name:' field)")
        data["name"] = found["name"]
    data.pop("version", None)
    data.pop("approved_by", None)  # who pre-approves is whoever saves it, never what it says
    return _validated(data, path)


class _TemplateDumper(yaml.SafeDumper):
    """SafeDumper quoting what the template reader would not read back as text (``1e3``).

    It never writes an anchor and alias for a value used twice: the loader refuses them.
    """

    def ignore_aliases(self, data: Any) -> bool:
        return True


read_scalars_as_json(_TemplateDumper)


def template_yaml(template: Template) -> str:
    """``template`` as the YAML of its file; read back, it is the same template.

    PyYAML's own dumper leaves text such as ``1e3`` unquoted (not a number in YAML 1.1),
    which a template file reads as a number.
    """
    return yaml.dump(template.to_document(), Dumper=_TemplateDumper, sort_keys=False,
                     allow_unicode=True)


def _file_bytes(template: Template) -> bytes:
    """The bytes :meth:`TemplateLibrary.save` writes for ``template``."""
    return template_yaml(template).encode("utf-8")


def saved_file_digest(template: Template) -> str:
    """The digest of the file :meth:`TemplateLibrary.save` writes for ``template``: what its
    ``template_saved`` event records, and what that file's digest is until someone edits it."""
    return file_digest(_file_bytes(template))


#: The largest template file read. The shipped ones are a few KiB; every command that plans
#: parses the whole library, so a file of tens of MiB (a log saved under the wrong name, a
#: generated dump) would cost each of them seconds: refused unread, as the API refuses a body
#: over 1 MiB and the CLI a plan file.
TEMPLATE_MAX_BYTES = 1024 * 1024


def _read_bytes(path: Path) -> bytes:
    """The bytes of the regular file at ``path``; TemplateError, unread, for anything else.

    A pipe was waited on for ever and a link to ``/dev/zero`` read without end, hanging every
    command that loads templates. Opened without blocking and looked at once open, so a pipe
    put in the file's place since it was listed does not hang the reader either. A file over
    ``TEMPLATE_MAX_BYTES`` is refused by its size; no more than that is ever read.
    """
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    status = os.fstat(descriptor)
    if not stat.S_ISREG(status.st_mode):  # before open(): it refuses a directory
        os.close(descriptor)
        raise TemplateError(file_problem(path, "template file")
                            or f"template file {str(path)!r} is not a regular file")
    if status.st_size > TEMPLATE_MAX_BYTES:
        os.close(descriptor)
        raise TemplateError(_too_large(path, status.st_size))
    with open(descriptor, "rb") as file:
        data = file.read(TEMPLATE_MAX_BYTES + 1)
    if len(data) > TEMPLATE_MAX_BYTES:  # it grew after its size was read
        raise TemplateError(_too_large(path, len(data), grew=True))
    return data


def _too_large(path: Path, size: int, *, grew: bool = False) -> str:
    return (f"template file {str(path)!r} is {'at least ' if grew else ''}{size:,} bytes, larger "
            f"than the {TEMPLATE_MAX_BYTES // 2**20} MiB a template file may be")


@lru_cache(maxsize=256)
def _parsed_yaml(text: str) -> Any:
    """What the template text ``text`` holds, parsed once per distinct text.

    Every command, server request and test reads the same template files again and again, and
    parsing is what costs (PyYAML composes nodes in Python, even over libyaml), not reading.
    Keyed by the text itself, not by the file's mtime: a file rewritten within one timestamp
    tick is read afresh. A failed parse raises and is not kept. The value is shared: hand out only copies (``_read_mapping``).

    Read as a plan file is (``strict_yaml_loader``), since a template becomes plans: what a
    plan refuses (a tag such as ``!!int 017``, a merge key, a key written twice, an anchor)
    a template refuses, with its line, rather than applying it as YAML 1.1 would.
    """
    return yaml.load(text, Loader=strict_yaml_loader("template"))  # noqa: S506


def _read_mapping(path: Path) -> dict:
    """The mapping the file at ``path`` holds."""
    return _read_document(path)[0]


def _read_document(path: Path) -> tuple[dict, str]:
    """The mapping the file at ``path`` holds, and the digest of the very bytes parsed."""
    try:
        raw = _read_bytes(path)
        # A deep copy: callers pop and set keys, which must not reach the cached parse.
        data = copy.deepcopy(_parsed_yaml(raw.decode("utf-8")))
    except YamlRefused as exc:  # its message names the line and column
        raise TemplateError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise TemplateError(_yaml_problem(path, exc)) from exc
    except RecursionError:  # PyYAML composes and constructs one level of nesting per call
        raise TemplateError(f"{path}: the template is nested too deeply to read") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"{path}: cannot read template: {exc}") from exc
    if not isinstance(data, dict):
        raise TemplateError(f"{path}: a template file must hold a mapping")
    return data, file_digest(raw)


def _yaml_problem(path: Path, exc: yaml.YAMLError) -> str:
    """One line naming the file, the line and column, and what the parser expected.

    PyYAML's own text spans several lines and quotes a "<unicode string>" instead of the file.
    """
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
    parts = [getattr(exc, "context", None), getattr(exc, "problem", None)]
    what = "; ".join(p for p in parts if p) or str(exc).splitlines()[0]
    return f"{where}: not valid YAML ({what})"


def _validated(data: dict, path: Path) -> Template:
    try:
        return Template.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'template'}: "
                             f"{e['msg'].removeprefix('Value error, ')}" for e in exc.errors())
        raise TemplateError(f"{path}: invalid template: {problems}") from exc


_TEMPLATE_GLOB = "*.y*ml"
# What the directory's stat may fail with when it is simply not there; anything else
# (EACCES on a parent, ELOOP) means it may hold templates that cannot be read.
_ABSENT = (errno.ENOENT, errno.ENOTDIR)


def template_paths(directory: Path) -> list[Path]:
    """The ``*.y*ml`` entries of ``directory``, sorted; none when it does not exist.

    A directory that exists but cannot be listed, or cannot be looked at, is a TemplateError
    naming it and the OS error. ``Path.glob`` and ``Path.is_dir`` answer "nothing there"
    instead, and an unreadable directory holding a stricter newer version would then plan
    with the older one it replaces. Subdirectories are not walked: no template is read
    from them (one named like a template file is read as one, and fails).
    """
    try:
        if not stat.S_ISDIR(os.stat(directory).st_mode):
            return []  # a file where a directory belongs: the settings check reports it
        with os.scandir(directory) as entries:
            names = [entry.name for entry in entries
                     if fnmatch.fnmatchcase(entry.name, _TEMPLATE_GLOB)]
    except OSError as exc:
        if exc.errno in _ABSENT:
            return []
        raise TemplateError(f"cannot read templates directory {directory}: "
                            f"{exc.strerror or type(exc).__name__}; fix or remove it "
                            "(every template is read to plan)") from exc
    return [directory / name for name in sorted(names)]


def template_file_name(template: Template) -> str:
    """The file name a template version is saved under."""
    return f"{template.name}.v{template.version}.yaml"


# A save claims its version by creating ".NAME.vN.yaml.claim" exclusively, writes the
# template there, and links it to NAME.vN.yaml once recorded. The glob never reads a claim.
_CLAIM_SUFFIX = ".claim"
# Each try fails only because another save took that version since the listing: as many
# tries as savers of one name at once, never near this.
_CLAIM_TRIES = 50
_SAVED_NAME = re.compile(r"\.?(?P<name>[a-z][a-z0-9_-]{0,63})\.v(?P<version>[1-9]\d*)"
                         r"\.ya?ml(?:\.claim)?")


class _Claim(NamedTuple):
    """A version claimed for a save: the claim file, open for writing the template."""

    path: Path
    descriptor: int


def _claim_path(path: Path) -> Path:
    return path.with_name(f".{path.name}{_CLAIM_SUFFIX}")


def _next_on_disk(directory: Path, name: str) -> int:
    """One past the highest version of ``name`` saved or claimed in ``directory`` now.

    A claim a crashed save left behind counts: its version may be in the ledger already.
    """
    versions = [0]
    with os.scandir(directory) as entries:
        for entry in entries:
            found = _SAVED_NAME.fullmatch(entry.name)
            if found and found["name"] == name:
                versions.append(int(found["version"]))
    return max(versions) + 1


def _claim(path: Path) -> _Claim | None:
    """Claim the version saved at ``path``; None when another save has it or had it.

    Created exclusively, so of two savers one gets it. Looked for after claiming: a save
    that has finished put its file in place before it dropped its claim.
    """
    claim = _claim_path(path)
    try:
        descriptor = os.open(claim, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        return None
    if any(os.path.lexists(path.with_suffix(suffix)) for suffix in (".yaml", ".yml")):
        os.close(descriptor)
        claim.unlink()
        return None
    return _Claim(claim, descriptor)


def _publish(claim: Path, path: Path) -> None:
    """Put the claimed, written and recorded template in place: from now on it is live.

    Recorded first, then live, never the other way round: a live template that the ledger
    does not show (a pre-approved one makes standard changes) is what a crash or a failed
    record must never leave. A crash between the two leaves a recorded version that never
    became live, and its claim file holding it; the version is then skipped, not reused.
    A link, not a rename: it never replaces a file put there meanwhile by other means.
    """
    try:
        os.link(claim, path)
        return
    except FileExistsError:
        raise _appeared(path) from None
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
    # No hard links on this file system: the claim alone keeps other saves off the name.
    if os.path.lexists(path):
        raise _appeared(path)
    os.replace(claim, path)


def _is_shipped(directory: Path) -> bool:
    """Whether ``directory`` is the one holding the templates Baton ships."""
    try:
        return os.path.samefile(directory, SHIPPED_DIR)
    except OSError:  # not there (a templates_dir not made yet): not the shipped one
        return False


# What a file system without hard links answers os.link with.
_NO_LINKS = (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS)


def _appeared(path: Path) -> TemplateError:
    return TemplateError(f"{path} appeared while the template was being saved, put there by "
                         "other means than baton; the ledger records this version as saved: "
                         "compare that file with its template_saved event", code="conflict")


@contextmanager
def _saving(template: Template, where: Path) -> Iterator[None]:
    """An OS error writing the templates directory as a TemplateError naming the template."""
    try:
        yield
    except OSError as exc:
        raise TemplateError(f"cannot save template {template.name} ({where}): "
                            f"{exc.strerror or exc}") from exc


class TemplateLibrary:
    """Every version of every template found; the newest version of each is used for matching."""

    def __init__(self, templates: Iterable[Template] = (), *, writable_dir: Path | None = None) -> None:
        self._versions: dict[str, dict[int, Template]] = {}
        # Where each version was read from, with the digest of its bytes: a pre-approval
        # counts only while the file holds what its template_saved event recorded.
        self._sources: dict[tuple[str, int], TemplateSource] = {}
        self.writable_dir = writable_dir
        for template in templates:
            self._add(template, where="<memory>")

    @classmethod
    def load(cls, directories: Iterable[Path], *, writable_dir: Path | None = None) -> TemplateLibrary:
        """Load ``*.yaml`` from each existing directory, in order; a broken file is an error.

        So is a directory that exists but cannot be read (``template_paths``). Never skipped
        with a warning: skipping a broken newer version would quietly match with the older
        one it replaces (a looser pattern, a template since made stricter).
        """
        library = cls(writable_dir=writable_dir)
        for directory in directories:
            shipped = _is_shipped(directory)
            for path in template_paths(directory):
                try:
                    template, digest = read_template_file(path)
                except TemplateError as exc:
                    raise TemplateError(f"{exc.message}; fix or remove the file (every "
                                        "template is read to plan)", code=exc.code) from exc
                library._add(template, where=str(path),
                             source=TemplateSource(str(path), digest, shipped))
        return library

    def _add(self, template: Template, *, where: str,
             source: TemplateSource | None = None) -> None:
        versions = self._versions.setdefault(template.name, {})
        existing = versions.get(template.version)
        if existing is not None and existing != template:
            raise TemplateError(f"{where}: template {template.name} v{template.version} is "
                                "already defined differently; save changes as a new version")
        versions[template.version] = template
        # The same version found again (a shipped file copied into templates_dir) keeps the
        # source it was first read from: shipped ones are read first.
        if source is not None:
            self._sources.setdefault((template.name, template.version), source)

    def source(self, name: str, version: int) -> TemplateSource | None:
        """Where version ``version`` of ``name`` was read from, and its digest (None: it was
        never read from a file, or is not in the library)."""
        return self._sources.get((name, version))

    def names(self) -> list[str]:
        """Template names, sorted."""
        return sorted(self._versions)

    def __iter__(self) -> Iterator[Template]:
        """The newest version of each template, by name."""
        return (self.get(name) for name in self.names())

    def __len__(self) -> int:
        return len(self._versions)

    def versions(self, name: str) -> list[Template]:
        """Every version of ``name``, oldest first."""
        if name not in self._versions:
            raise self._unknown(name)
        return [self._versions[name][v] for v in sorted(self._versions[name])]

    def get(self, name: str, version: int | None = None) -> Template:
        """Version ``version`` of ``name`` (newest when None); TemplateError naming what exists."""
        versions = self._versions.get(name)
        if not versions:
            raise self._unknown(name)
        if version is None:
            return versions[max(versions)]
        if version not in versions:
            have = ", ".join(f"v{v}" for v in sorted(versions))
            raise TemplateError(f"template {name} has no version {version} (versions: {have})",
                                code="not_found")
        return versions[version]

    def next_version(self, name: str) -> int:
        """The version number a new version of ``name`` gets, as far as this library knows."""
        return max(self._versions.get(name, {0: None})) + 1

    def save(self, template: Template,
             record: Callable[[Template, Path], None] | None = None) -> tuple[Template, Path]:
        """Store ``template`` as the next free version of its name in the writable directory.

        ``record(stored, path)`` runs once the version is claimed and written in full, before
        the file is put in place; when it raises, nothing is left (``_publish``'s docstring says
        why in that order). Another process saving the same name at the same time gets
        another version: its library, read before this one saved, is not trusted for that.
        """
        if self.writable_dir is None:
            raise TemplateError("no templates directory to write to; set templates_dir")
        self.writable_dir.mkdir(parents=True, exist_ok=True)
        stored, path, claim = self._claim_version(template)
        content = _file_bytes(stored)  # what saved_file_digest(stored) is the digest of
        recorded = published = False
        try:
            with _saving(stored, path):
                with os.fdopen(claim.descriptor, "wb") as file:
                    file.write(content)
                    file.flush()
                    os.fsync(file.fileno())  # whole on disk before the ledger says it is saved
            if record is not None:
                record(stored, path)
            recorded = True
            try:
                _publish(claim.path, path)
            except OSError as exc:
                raise TemplateError(
                    f"template {stored.name} v{stored.version} is recorded in the ledger as "
                    f"saved, but {path} could not be put in place: {exc.strerror or exc}; "
                    "add it again (as the next version)") from exc
            published = True
        finally:
            # A version recorded but not put in place keeps its claim, as after a crash: the
            # ledger has its event, so its number is never given to another save (unless a
            # file put there by hand holds the number anyway).
            if published or not recorded or path.exists():
                claim.path.unlink(missing_ok=True)
        self._add(stored, where=str(path),
                  source=TemplateSource(str(path), file_digest(content), shipped=False))
        return stored, path

    def _claim_version(self, template: Template) -> tuple[Template, Path, _Claim]:
        """The first version of ``template``'s name no one has saved or claimed, claimed."""
        directory = self.writable_dir
        assert directory is not None
        with _saving(template, directory):
            version = max(self.next_version(template.name),
                          _next_on_disk(directory, template.name))
            for _ in range(_CLAIM_TRIES):
                stored = template.model_copy(update={"version": version})
                path = directory / template_file_name(stored)
                claim = _claim(path)
                if claim is not None:
                    return stored, path, claim
                version += 1  # taken by a save that ran since the listing: the next one
        raise TemplateError(f"cannot save template {template.name}: {_CLAIM_TRIES} versions "
                            f"in a row, up to v{version - 1}, were taken by other saves "
                            "meanwhile; retry", code="conflict")

    def _unknown(self, name: str) -> TemplateError:
        import difflib

        close = difflib.get_close_matches(name, self.names(), n=3)
        hint = f" (did you mean: {', '.join(close)}?)" if close else ""
        return TemplateError(f"no template named {name!r}{hint}", code="not_found")
