"""Changes carried through the confirmation page as JSON come back equal; anything else is a ValueError."""
from __future__ import annotations

from datetime import date, time

import pytest

from carebook.availability import (AddTimeOff, RemoveOneOff, RemoveTimeOff, RemoveWeeklyHours, SetAppointmentLength,
                                   SetOneOff, SetWeeklyHours, decode_change, encode_change)


@pytest.mark.parametrize("change", [
    SetWeeklyHours(7, date(2026, 6, 8), {1: ((time(9), time(12)), (time(13, 30), time(17)))}),
    RemoveWeeklyHours(7, date(2026, 6, 8)),
    SetAppointmentLength(7, 20, 5),
    SetOneOff(7, date(2026, 6, 8), ((time(10), time(12)),), adds_to_usual=True),
    SetOneOff(7, date(2026, 6, 8)),
    RemoveOneOff(7, date(2026, 6, 8)),
    AddTimeOff(7, date(2026, 6, 8), date(2026, 6, 9), time(12), None, "away"),
    RemoveTimeOff(7, 3),
])
def test_changes_survive_a_round_trip_through_json(change):
    import json

    assert decode_change(json.loads(json.dumps(encode_change(change)))) == change


def test_decoding_rubbish_is_a_value_error():
    with pytest.raises(ValueError):
        decode_change({"type": "SetOneOff", "doctor_id": 1, "on_date": "not a date"})
    with pytest.raises(ValueError):
        decode_change({"type": "DropTables"})
