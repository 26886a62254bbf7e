"""Documents (Argo CD-style YAML/JSON dicts) <-> protobuf messages, with errors that name the field.

Shared by the daemon (validating what clients send) and the CLI (printing -o yaml);
it depends on protobuf only.

protobuf's own json_format parser rejects bad input too, but with messages such as
'Failed to parse spec field: ...'. Users get 'spec.source.repoURL: expected a string,
got a list' instead: the document is walked against the message descriptor first.
"""

from __future__ import annotations

from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

M = TypeVar("M", bound=Message)


class DocumentError(ValueError):
    """A document does not fit the message; the text names the field."""


_WELL_KNOWN_ANY = {"google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue"}
_INT_TYPES = {
    FieldDescriptor.TYPE_INT32,
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT32,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT32,
    FieldDescriptor.TYPE_SINT64,
}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)


def _check_scalar(field: FieldDescriptor, value: Any, path: str) -> None:
    if field.type == FieldDescriptor.TYPE_BOOL:
        if not isinstance(value, bool):
            raise DocumentError(f"{path}: expected true or false, got {_type_name(value)}")
    elif field.type == FieldDescriptor.TYPE_STRING:
        # YAML turns `targetRevision: 1.0` into a float; Argo CD users expect it to be a string.
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise DocumentError(f"{path}: expected a string, got {_type_name(value)}")
    elif field.type in _INT_TYPES:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise DocumentError(f"{path}: expected an integer, got {_type_name(value)}")
        if isinstance(value, str):
            try:
                int(value)
            except ValueError:
                raise DocumentError(f"{path}: expected an integer, got {value!r}") from None
    elif field.type == FieldDescriptor.TYPE_BYTES:
        if not isinstance(value, str):
            raise DocumentError(f"{path}: expected base64 text, got {_type_name(value)}")


def _walk(descriptor: Any, doc: Any, path: str) -> Any:
    """Checks doc against descriptor and returns a copy with string fields coerced."""
    if not isinstance(doc, dict):
        raise DocumentError(f"{path or 'document'}: expected a mapping, got {_type_name(doc)}")
    fields = {f.json_name: f for f in descriptor.fields}
    out: dict[str, Any] = {}
    for key, value in doc.items():
        sub = f"{path}.{key}" if path else str(key)
        field = fields.get(key) if isinstance(key, str) else None
        if field is None:
            known = ", ".join(sorted(fields))
            raise DocumentError(f"{sub}: unknown field (known fields here: {known})")
        if value is None:
            continue  # YAML `key:` with nothing: treat as unset, as Kubernetes does
        out[key] = _walk_field(field, value, sub)
    return out


def _walk_field(field: Any, value: Any, path: str) -> Any:
    is_map = field.message_type is not None and field.message_type.GetOptions().map_entry
    if is_map:
        if not isinstance(value, dict):
            raise DocumentError(f"{path}: expected a mapping, got {_type_name(value)}")
        value_field = field.message_type.fields_by_name["value"]
        return {str(k): _walk_value(value_field, v, f"{path}.{k}") for k, v in value.items()}
    if field.is_repeated:
        if not isinstance(value, list):
            raise DocumentError(f"{path}: expected a list, got {_type_name(value)}")
        return [_walk_value(field, v, f"{path}[{i}]") for i, v in enumerate(value)]
    return _walk_value(field, value, path)


def _walk_value(field: FieldDescriptor, value: Any, path: str) -> Any:
    if field.message_type is not None:
        if field.message_type.full_name in _WELL_KNOWN_ANY:
            if field.message_type.full_name == "google.protobuf.Struct" and not isinstance(value, dict):
                raise DocumentError(f"{path}: expected a mapping, got {_type_name(value)}")
            return value
        if value is None:
            raise DocumentError(f"{path}: must not be null")
        return _walk(field.message_type, value, path)
    if value is None:
        raise DocumentError(f"{path}: must not be null")
    _check_scalar(field, value, path)
    if field.type == FieldDescriptor.TYPE_STRING and not isinstance(value, str):
        return _number_to_string(value)
    return value


def _number_to_string(value: int | float) -> str:
    # `targetRevision: 1.0` arrives as the float 1.0; "1.0" is what the user wrote.
    return str(value)


def parse_document(doc: Any, message: M) -> M:
    """Fills message from an Argo CD-style document; InvalidArgument names the bad field."""
    checked = _walk(message.DESCRIPTOR, doc, "")
    try:
        json_format.ParseDict(checked, message)
    except json_format.ParseError as exc:  # should not happen after the walk; keep the message
        raise DocumentError(str(exc).splitlines()[0]) from None
    return message


def _ints_back(value: Any) -> Any:
    # Struct stores every number as a double; give whole numbers back as ints.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _ints_back(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ints_back(v) for v in value]
    return value


def _int64_back(descriptor: Any, doc: dict[str, Any]) -> dict[str, Any]:
    # Canonical protobuf JSON writes 64-bit integers as strings; YAML users expect numbers.
    for field in descriptor.fields:
        if field.json_name not in doc:
            continue
        value = doc[field.json_name]
        if field.message_type is not None:
            if field.message_type.full_name in _WELL_KNOWN_ANY:
                doc[field.json_name] = _ints_back(value)
            elif field.message_type.GetOptions().map_entry:
                vf = field.message_type.fields_by_name["value"]
                if vf.message_type is not None and vf.message_type.full_name not in _WELL_KNOWN_ANY:
                    for v in value.values():
                        _int64_back(vf.message_type, v)
            elif field.is_repeated:
                for v in value:
                    _int64_back(field.message_type, v)
            else:
                _int64_back(field.message_type, value)
        elif field.type in _INT_TYPES:
            doc[field.json_name] = [int(v) for v in value] if isinstance(value, list) else int(value)
    return doc


def to_document(message: Message) -> dict[str, Any]:
    """The canonical document form of a message (Argo CD field names, no defaults)."""
    return _int64_back(message.DESCRIPTOR, json_format.MessageToDict(message))
