"""Changes as JSON, to carry one through a confirmation page (signed by the portal) and back."""
from __future__ import annotations

from datetime import date, time
from typing import Any, Mapping, Sequence

from carebook.availability.changes.appointment_length import SetAppointmentLength
from carebook.availability.changes.base import Change
from carebook.availability.changes.one_off import RemoveOneOff, SetOneOff
from carebook.availability.changes.time_off import AddTimeOff, RemoveTimeOff
from carebook.availability.changes.weekly_hours import RemoveWeeklyHours, SetWeeklyHours
from carebook.availability.ranges import TimeRange

_CHANGE_TYPES = {cls.__name__: cls for cls in (SetWeeklyHours, RemoveWeeklyHours, SetAppointmentLength,
                                               SetOneOff, RemoveOneOff, AddTimeOff, RemoveTimeOff)}


def encode_change(change: Change) -> dict[str, Any]:
    """A JSON-ready form of ``change`` (to carry it through a confirmation page)."""
    data: dict[str, Any] = {"type": type(change).__name__}
    for name, value in vars(change).items():
        if name == "ranges" and isinstance(value, Mapping):
            value = {str(day): [_encode_range(r) for r in day_ranges] for day, day_ranges in value.items()}
        elif name == "ranges":
            value = [_encode_range(r) for r in value]
        elif isinstance(value, (date, time)):
            value = value.isoformat()
        data[name] = value
    return data


def decode_change(data: Mapping[str, Any]) -> Change:
    """The change :func:`encode_change` wrote. Raises ValueError on anything else."""
    try:
        cls = _CHANGE_TYPES[data["type"]]
        values = {name: _FIELD_DECODERS[name](data[name]) for name in cls.__dataclass_fields__ if name in data}
        if cls is SetWeeklyHours:
            values["ranges"] = {int(day): tuple(_decode_range(r) for r in day_ranges)
                                for day, day_ranges in data["ranges"].items()}
        return cls(**values)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ValueError(f"not an availability change: {error!r}") from None


def _optional_time(raw: str | None) -> time | None:
    return None if raw is None else time.fromisoformat(raw)


def _decode_ranges(raw: Any) -> Any:
    # A weekly pattern's mapping is decoded by decode_change itself.
    return raw if isinstance(raw, Mapping) else tuple(_decode_range(r) for r in raw)


_FIELD_DECODERS = {
    "doctor_id": int, "time_off_id": int, "appointment_minutes": int, "buffer_minutes": int,
    "valid_from": date.fromisoformat, "on_date": date.fromisoformat,
    "start_date": date.fromisoformat, "end_date": date.fromisoformat,
    "start_time": _optional_time, "end_time": _optional_time,
    "adds_to_usual": bool, "note": str, "ranges": _decode_ranges,
}


def _encode_range(time_range: TimeRange) -> list[str]:
    return [time_range[0].isoformat(), time_range[1].isoformat()]


def _decode_range(raw: Sequence[str]) -> TimeRange:
    start, end = raw
    return time.fromisoformat(start), time.fromisoformat(end)
