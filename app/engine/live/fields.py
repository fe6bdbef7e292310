"""Declared settings: each field states its default, type, valid range or choices, and
whether a change applies from the next frame ("live") or needs a restart. One declaration
serves the settings file's validation, the session (which applies changes) and the panel.

A `SettingsModel` holds the values and tells subscribers about each change (`FieldChanged`).
Subscribers are called in the thread that made the change; no Qt here.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Literal, TypeVar, overload

from app.engine.core.errors import SettingsError
from app.engine.core.events import Listeners

T = TypeVar("T")
Applies = Literal["live", "restart"]
Size = tuple[int, int]


@dataclass(frozen=True)
class FieldChanged:
    """One field of `model` went from `old` to `new`. `origin` is whoever made the change
    (None: a user); a subscriber may ignore the changes it made itself."""

    model: "SettingsModel"
    name: str
    old: Any
    new: Any
    applies: Applies
    group: str | None
    origin: object = None


class Setting(Generic[T]):
    """A declared field of a SettingsModel (used as a class attribute). `group` names the
    engine settings object it belongs to ("matte", "effects", ...), if any; `persist` says
    whether it is written to the settings file."""

    name: str = ""

    def __init__(self, default: T, *, applies: Applies = "live", group: str | None = None,
                 persist: bool = True, doc: str = "") -> None:
        self.default, self.applies, self.group, self.persist, self.doc = default, applies, group, persist, doc

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> "Setting[T]": ...
    @overload
    def __get__(self, obj: "SettingsModel", owner: type) -> T: ...

    def __get__(self, obj: "SettingsModel | None", owner: type) -> "T | Setting[T]":
        if obj is None:
            return self
        return obj._values[self.name]

    def __set__(self, obj: "SettingsModel", value: T) -> None:
        obj.set(self.name, value)

    def check(self, value: object) -> T:
        """`value` as this field holds it; SettingsError naming the field and the value otherwise."""
        raise NotImplementedError

    def dump(self, value: T) -> object:
        """The JSON form of `value`."""
        return value

    def describe(self) -> str:
        """What a valid value is, in words (for error lines)."""
        return type(self.default).__name__

    def _bad(self, value: object) -> SettingsError:
        return SettingsError(f"{self.name} must be {self.describe()}, got {value!r}")


class FloatSetting(Setting[float]):
    """A finite number within [lo, hi]."""

    def __init__(self, default: float, lo: float, hi: float, **kw: Any) -> None:
        super().__init__(float(default), **kw)
        self.lo, self.hi = float(lo), float(hi)

    def describe(self) -> str:
        return f"a number within {self.lo:g}..{self.hi:g}"

    def check(self, value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._bad(value)
        number = float(value)
        if not math.isfinite(number) or not self.lo <= number <= self.hi:
            raise self._bad(value)
        return number


class BoolSetting(Setting[bool]):
    """true or false (not 0/1: a number here is a mistake worth telling)."""

    def describe(self) -> str:
        return "true or false"

    def check(self, value: object) -> bool:
        if not isinstance(value, bool):
            raise self._bad(value)
        return value


class TextSetting(Setting[str]):
    """Any text; `choices`, when given, are the only valid values."""

    def __init__(self, default: str, choices: Iterable[str] | None = None, **kw: Any) -> None:
        super().__init__(default, **kw)
        self.choices = tuple(choices) if choices is not None else None

    def describe(self) -> str:
        return f"one of {', '.join(self.choices)}" if self.choices else "text"

    def check(self, value: object) -> str:
        if not isinstance(value, str) or (self.choices is not None and value not in self.choices):
            raise self._bad(value)
        return value


class OptionalTextSetting(Setting["str | None"]):
    """Text, or None (null in the file) for "not set"."""

    def describe(self) -> str:
        return "text or null"

    def check(self, value: object) -> str | None:
        if value is not None and not isinstance(value, str):
            raise self._bad(value)
        return value or None


class SizeSetting(Setting[Size]):
    """A picture size (w, h), each within [lo, hi]; "WxH" in the file."""

    def __init__(self, default: Size, lo: int, hi: int, **kw: Any) -> None:
        super().__init__(default, **kw)
        self.lo, self.hi = lo, hi

    def describe(self) -> str:
        return f'"WxH" with each side within {self.lo}..{self.hi}'

    def check(self, value: object) -> Size:
        parts: Any = value.lower().split("x") if isinstance(value, str) else value
        if not isinstance(parts, (list, tuple)) or len(parts) != 2:
            raise self._bad(value)
        try:
            w, h = (int(p) if isinstance(p, str) else p for p in parts)
        except ValueError:
            raise self._bad(value) from None
        if not all(isinstance(v, int) and not isinstance(v, bool) and self.lo <= v <= self.hi for v in (w, h)):
            raise self._bad(value)
        return (w, h)

    def dump(self, value: Size) -> str:
        return f"{value[0]}x{value[1]}"


Listener = Callable[[FieldChanged], None]
M = TypeVar("M", bound="SettingsModel")


class SettingsModel:
    """Values of the fields a subclass declares (`Setting` class attributes), always valid.

    Setting an attribute validates it (SettingsError, the old value kept) and, when the
    value changes, calls every subscriber with a FieldChanged in the setting thread.
    """

    fields: ClassVar[dict[str, Setting[Any]]] = {}

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        found: dict[str, Setting[Any]] = {}
        for klass in reversed(cls.__mro__):
            found.update({k: v for k, v in vars(klass).items() if isinstance(v, Setting)})
        cls.fields = found

    def __init__(self, **values: Any) -> None:
        self._values: dict[str, Any] = {name: f.default for name, f in self.fields.items()}
        self._listeners: Listeners[FieldChanged] = Listeners()
        self._lock = threading.RLock()
        for name, value in values.items():
            self._values[name] = self._field(name).check(value)

    def _field(self, name: str) -> Setting[Any]:
        try:
            return self.fields[name]
        except KeyError:
            raise SettingsError(f"{type(self).__name__} has no setting {name!r}") from None

    def set(self, name: str, value: object, *, origin: object = None) -> bool:
        """Validate and store one field; returns whether it changed (subscribers told)."""
        field = self._field(name)
        checked = field.check(value)
        with self._lock:
            old = self._values[name]
            if old == checked:
                return False
            self._values[name] = checked
        self._listeners.publish(FieldChanged(self, name, old, checked, field.applies, field.group, origin))
        return True

    def update(self, changes: Mapping[str, object], *, origin: object = None) -> None:
        """Set several fields; all are validated before any is stored."""
        for name, value in changes.items():
            self._field(name).check(value)
        for name, value in changes.items():
            self.set(name, value, origin=origin)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(event)` on each change from now on; returns the unsubscriber."""
        return self._listeners.subscribe(listener)

    def values(self, group: str | None = None) -> dict[str, Any]:
        """A copy of the values (only those of `group`, when given)."""
        with self._lock:
            return {k: v for k, v in self._values.items() if group is None or self.fields[k].group == group}

    def to_dict(self) -> dict[str, object]:
        """The persisted fields in their JSON form."""
        values = self.values()
        return {k: f.dump(values[k]) for k, f in self.fields.items() if f.persist}

    @classmethod
    def from_dict(cls: type[M], data: Mapping[str, object]) -> tuple[M, dict[str, str]]:
        """A model from a settings file's object, and its problems by field name: each
        invalid field takes its default (and says so); unknown keys are ignored (they
        belong to others)."""
        model, problems = cls(), {}
        for name, field in cls.fields.items():
            if name in data and field.persist:
                try:
                    model._values[name] = field.check(data[name])
                except SettingsError as exc:
                    problems[name] = f"{exc}, so the default {field.dump(field.default)!r} is used"
        return model, problems

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.values() == self.values()  # type: ignore[union-attr]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.values().items())})"
