from gitopsd.api.gitopsd.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateSessionRequest(_message.Message):
    __slots__ = ("username", "password")
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    username: str
    password: str
    def __init__(self, username: _Optional[str] = ..., password: _Optional[str] = ...) -> None: ...

class SessionResponse(_message.Message):
    __slots__ = ("token", "expires_at")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    token: str
    expires_at: int
    def __init__(self, token: _Optional[str] = ..., expires_at: _Optional[int] = ...) -> None: ...

class UserInfo(_message.Message):
    __slots__ = ("logged_in", "username", "groups", "issuer")
    LOGGED_IN_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    logged_in: bool
    username: str
    groups: _containers.RepeatedScalarFieldContainer[str]
    issuer: str
    def __init__(self, logged_in: _Optional[bool] = ..., username: _Optional[str] = ..., groups: _Optional[_Iterable[str]] = ..., issuer: _Optional[str] = ...) -> None: ...

class AccountToken(_message.Message):
    __slots__ = ("id", "issued_at", "expires_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    issued_at: int
    expires_at: int
    def __init__(self, id: _Optional[str] = ..., issued_at: _Optional[int] = ..., expires_at: _Optional[int] = ...) -> None: ...

class Account(_message.Message):
    __slots__ = ("name", "enabled", "capabilities", "tokens")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    name: str
    enabled: bool
    capabilities: _containers.RepeatedScalarFieldContainer[str]
    tokens: _containers.RepeatedCompositeFieldContainer[AccountToken]
    def __init__(self, name: _Optional[str] = ..., enabled: _Optional[bool] = ..., capabilities: _Optional[_Iterable[str]] = ..., tokens: _Optional[_Iterable[_Union[AccountToken, _Mapping]]] = ...) -> None: ...

class AccountList(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Account]
    def __init__(self, items: _Optional[_Iterable[_Union[Account, _Mapping]]] = ...) -> None: ...

class UpdatePasswordRequest(_message.Message):
    __slots__ = ("name", "current_password", "new_password")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CURRENT_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    NEW_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    name: str
    current_password: str
    new_password: str
    def __init__(self, name: _Optional[str] = ..., current_password: _Optional[str] = ..., new_password: _Optional[str] = ...) -> None: ...

class CreateAccountTokenRequest(_message.Message):
    __slots__ = ("name", "expires_in", "id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    expires_in: int
    id: str
    def __init__(self, name: _Optional[str] = ..., expires_in: _Optional[int] = ..., id: _Optional[str] = ...) -> None: ...

class CreateAccountTokenResponse(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class DeleteAccountTokenRequest(_message.Message):
    __slots__ = ("name", "id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    id: str
    def __init__(self, name: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class CanIRequest(_message.Message):
    __slots__ = ("resource", "action", "subresource")
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    SUBRESOURCE_FIELD_NUMBER: _ClassVar[int]
    resource: str
    action: str
    subresource: str
    def __init__(self, resource: _Optional[str] = ..., action: _Optional[str] = ..., subresource: _Optional[str] = ...) -> None: ...

class CanIResponse(_message.Message):
    __slots__ = ("value",)
    VALUE_FIELD_NUMBER: _ClassVar[int]
    value: str
    def __init__(self, value: _Optional[str] = ...) -> None: ...
