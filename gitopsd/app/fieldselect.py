"""Field selection of List replies (ListApplicationsRequest.fields): the parts of each Application
a caller asks for, checked against the message's schema, and a copy of only those parts.

Sits in the application layer beside the reads (applications.py builds each listed item through a
Selection); the servicer hands it the request's paths untouched. A selection is a message type of its
own, built at run time: Application's schema cut down to the selected fields, with the same field
numbers. A stored row's binary protobuf parsed into it keeps what is selected in typed fields and the
rest as unknown bytes, which are then dropped: the copy is a handful of calls into protobuf's C code
per application, whatever is selected, instead of Python walking each field. A table of 10,000 applications needs
a handful of short fields of each, while a whole Application (every resource, the operation, the
history) is ~1 KB: sending, and parsing on the other side, what is printed is most of the saving.

Paths are dotted field names as the YAML spells them (`status.sync.status`; the proto names work
too), several per entry when separated by commas (`?fields=a,b` on the JSON API). A path selects its
field with everything under it; through a repeated field or a map it applies to every element
(`status.conditions.type`: the type of each condition). metadata.name and spec.project are always
selected: they name the application, and they are what the reply is filtered by (RBAC).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor, FileDescriptor
from google.protobuf.message import Message

from gitopsd.app.errors import InvalidArgument

# Bounds on what a request may ask for (hostile input: the check's cost stays small).
MAX_PATHS = 100
MAX_PATH_CHARS = 256

# Always part of a selection: the identity of the item and its RBAC object (PROJECT/NAME).
ALWAYS = ("metadata.name", "spec.project")

# Selected whole whatever a path says past them: their own fields are not the schema users write.
_OPAQUE = frozenset({"google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue"})
_PACKAGE = "gitopsd.selection"

# A selection as a tree: field name -> the tree under it, or None for the whole field.
Tree = dict[str, "Tree | None"]


class Selection:
    """A checked set of field paths of one message type, and the message type that holds only them."""

    def __init__(self, descriptor: Descriptor, paths: Iterable[str], always: Iterable[str] = ()) -> None:
        """Raises InvalidArgument for an unknown field, an empty segment, a path past a scalar or
        into a map, or more than MAX_PATHS paths (each at most MAX_PATH_CHARS)."""
        tree: Tree = {}
        wanted = [p.strip() for entry in paths for p in entry.split(",")]
        if len(wanted) > MAX_PATHS:
            raise InvalidArgument(f"fields: at most {MAX_PATHS} paths, got {len(wanted)}")
        for path in [*wanted, *always]:
            _add(tree, descriptor, path)
        self.tree = tree
        self._class = _selected_class(descriptor, _frozen(tree))

    def selects(self, *path: str) -> bool:
        """Whether anything at or under the field path (proto names) is selected."""
        node: Tree | None = self.tree
        for name in path:
            if node is None:
                return True
            if name not in node:
                return False
            node = node[name]
        return True

    def new(self) -> Message:
        """An empty message of the selection's own type: parse a whole message's bytes into it, then
        call DiscardUnknownFields(); its serialization is the selected part of the whole message."""
        return self._class()


def application_selection(paths: Iterable[str]) -> Selection | None:
    """The selection of a List request's `fields`; None (whole applications) when it names none."""
    paths = [p for p in paths if p.strip(" ,")]
    if not paths:
        return None
    from gitopsd.api.gitopsd.v1 import application_pb2 as apppb

    return Selection(apppb.Application.DESCRIPTOR, paths, ALWAYS)  # type: ignore[arg-type]  # upb's Descriptor


def _field(descriptor: Descriptor, name: str) -> FieldDescriptor | None:
    for f in descriptor.fields:
        if name in (f.name, f.json_name):
            return f
    return None


def _add(tree: Tree, descriptor: Descriptor, path: str) -> None:
    shown = path if len(path) <= MAX_PATH_CHARS else path[:MAX_PATH_CHARS] + "..."
    if not path:
        raise InvalidArgument("fields: an empty path")
    if len(path) > MAX_PATH_CHARS:
        raise InvalidArgument(f"fields: {shown!r} is over {MAX_PATH_CHARS} characters")
    parts = path.split(".")
    node: Tree | None = tree
    where: Descriptor | None = descriptor
    for depth, part in enumerate(parts):
        if where is None:
            raise InvalidArgument(f"fields: {shown!r}: {'.'.join(parts[:depth])} has no fields to select")
        f = _field(where, part)
        if f is None:
            known = ", ".join(sorted(x.json_name for x in where.fields))
            raise InvalidArgument(f"fields: {shown!r}: no field {part[:100]!r} in {where.name} (known: {known})")
        last = depth == len(parts) - 1
        if not last and f.message_type is not None and f.message_type.GetOptions().map_entry:
            raise InvalidArgument(f"fields: {shown!r}: {'.'.join(parts[: depth + 1])} is a map: select it whole")
        if node is not None:  # None: an earlier path already selects all of this
            if last:
                node[f.name] = None
            else:
                node = node.setdefault(f.name, {})
        where = None if f.message_type is None or f.message_type.full_name in _OPAQUE else f.message_type


def _frozen(tree: Tree | None) -> tuple:  # type: ignore[type-arg]
    """A hashable form of a tree (the cache key of its message type)."""
    if tree is None:
        return ()
    return tuple((name, _frozen(under) if under is not None else None) for name, under in sorted(tree.items()))


_files = itertools.count()


@functools.lru_cache(maxsize=32)  # a few selections are in use (the CLI's, a dashboard's): each built once
def _selected_class(descriptor: Descriptor, tree: tuple) -> type[Message]:  # type: ignore[type-arg]
    # A pool of its own per selection: a new selection adds nothing that lives on in a shared one.
    pool = descriptor_pool.DescriptorPool()
    for file in _files_under(descriptor.file, {}).values():
        proto = descriptor_pb2.FileDescriptorProto()
        file.CopyToProto(proto)
        pool.Add(proto)
    out = descriptor_pb2.FileDescriptorProto(
        name=f"gitopsd/selection/s{next(_files)}.proto",
        package=_PACKAGE,
        syntax="proto3",
        dependency=[descriptor.file.name],
    )
    _cut(out, descriptor, tree, "Selected")
    pool.Add(out)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.Selected"))


def _files_under(file: FileDescriptor, seen: dict[str, FileDescriptor]) -> dict[str, FileDescriptor]:
    """`file` and what it imports, each after its own imports (the order a pool takes them in)."""
    for dependency in file.dependencies:
        _files_under(dependency, seen)
    seen.setdefault(file.name, file)
    return seen


def _cut(out: descriptor_pb2.FileDescriptorProto, descriptor: Descriptor, tree: tuple, name: str) -> None:  # type: ignore[type-arg]
    """Adds to `out` message `name`: `descriptor` with only the fields of `tree` (same numbers and
    types; a field selected in part gets a cut message type of its own, named after its path)."""
    whole = descriptor_pb2.DescriptorProto()
    descriptor.CopyToProto(whole)
    by_name = {f.name: f for f in whole.field}
    message = out.message_type.add(name=name)
    for field_name, under in tree:
        field = message.field.add()
        field.CopyFrom(by_name[field_name])
        if under:
            part = f"{name}_{field_name}"
            sub = descriptor.fields_by_name[field_name].message_type
            assert sub is not None  # a path went past this field: _add checked it has fields
            _cut(out, sub, under, part)
            field.type_name = f".{_PACKAGE}.{part}"
    # Oneofs (proto3 `optional` fields are each one: their presence must survive the copy), real
    # ones first as protobuf requires.
    used = sorted(
        {f.oneof_index for f in message.field if f.HasField("oneof_index")},
        key=lambda i: any(f.proto3_optional for f in message.field if f.HasField("oneof_index") and f.oneof_index == i),
    )
    index = {old: new for new, old in enumerate(used)}
    for old in used:
        message.oneof_decl.add(name=whole.oneof_decl[old].name)
    for f in message.field:
        if f.HasField("oneof_index"):
            f.oneof_index = index[f.oneof_index]
