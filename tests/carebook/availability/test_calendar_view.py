"""The week grid, a day in words and the month overview: pure layout over day plans, no Flask, no database."""
from __future__ import annotations

from datetime import date, time

from carebook.availability import DayPlan
from carebook.availability.calendar_view import CHUNK_UNITS, MonthDay, Piece, day_summary, month_overview, week_grid
from models import Appointment, TimeOff
from tests.carebook.availability.helpers import LONDON, at

TUESDAY = date(2026, 6, 2)


def plan(day=TUESDAY, working=((9, 17),), one_off=None, time_off=(), appointments=()) -> DayPlan:
    return DayPlan(day=day, working=[(at(day, start), at(day, end)) for start, end in working], one_off=one_off,
                   time_off=list(time_off), appointments=list(appointments))


def appointment(start: tuple[int, int], end: tuple[int, int], day=TUESDAY) -> Appointment:
    return Appointment(start_at=at(day, *start), end_at=at(day, *end))


def shape(pieces: list[Piece]) -> list[tuple[int, str, bool]]:
    return [(piece.units, piece.state, piece.continued) for piece in pieces]


def test_the_grid_spans_eight_to_six_at_least():
    grid = week_grid([plan()], LONDON)
    assert grid.hours == [f"{hour:02d}:00" for hour in range(8, 18)] and grid.end_label == "18:00"
    assert sum(piece.units for piece in grid.days[0].pieces) == 10 * 12


def test_the_grid_widens_to_an_early_appointment():
    grid = week_grid([plan(), plan(day=date(2026, 6, 3), appointments=[appointment((7, 0), (7, 30), date(2026, 6, 3))])],
                     LONDON)
    assert grid.hours[0] == "07:00"
    assert [sum(piece.units for piece in column.pieces) for column in grid.days] == [11 * 12, 11 * 12]


def test_working_time_between_closed_hours_is_cut_into_chunks():
    pieces = week_grid([plan()], LONDON).days[0].pieces
    assert shape(pieces) == [(12, "closed", False), (CHUNK_UNITS, "working", False), (CHUNK_UNITS, "working", True),
                             (12, "closed", False)]


def test_an_appointment_is_a_block_of_its_own_inside_the_working_time():
    booked = appointment((10, 0), (10, 30))
    pieces = week_grid([plan(appointments=[booked])], LONDON).days[0].pieces
    assert shape(pieces) == [(12, "closed", False), (12, "working", False), (6, "appointments", False),
                             (CHUNK_UNITS, "working", False), (30, "working", True), (12, "closed", False)]
    assert pieces[2].appointments == [booked]


def test_appointments_sharing_a_unit_are_one_block():
    first, second = appointment((10, 0), (10, 30)), appointment((10, 25), (10, 55))
    blocks = [piece for piece in week_grid([plan(appointments=[first, second])], LONDON).days[0].pieces
              if piece.state == "appointments"]
    assert [(piece.units, piece.appointments) for piece in blocks] == [(11, [first, second])]


def test_time_off_and_one_off_hours_have_their_own_states():
    away = TimeOff(start_at=at(TUESDAY, 12), end_at=at(TUESDAY, 14), reason="dentist")
    pieces = week_grid([plan(one_off=((time(9), time(17)),), time_off=[away])], LONDON).days[0].pieces
    assert [piece.state for piece in pieces] == ["closed", "one-off", "time-off", "one-off", "closed"]


def test_a_day_in_words():
    away = TimeOff(start_at=at(TUESDAY, 12), end_at=at(TUESDAY, 14), reason="dentist")
    assert day_summary(plan(time_off=[away]), LONDON) == ["Hours 09:00–17:00", "Time off 12:00–14:00 (dentist)"]
    assert day_summary(plan(working=(), one_off=()), LONDON) == ["Closed (one-off change)"]
    whole_day = TimeOff(start_at=at(TUESDAY, 0), end_at=at(date(2026, 6, 3), 0), reason="")
    assert day_summary(plan(working=(), time_off=[whole_day]), LONDON) == ["Not working", "Time off all day"]


class _Counts:
    """Stands in for the availability service: the month's appointment counts."""

    def __init__(self, counts):
        self.counts, self.asked = counts, None

    def appointment_counts(self, doctor, first_day, last_day):
        self.asked = (first_day, last_day)
        return self.counts


def test_the_month_overview_is_whole_weeks_with_counts():
    service = _Counts({date(2026, 6, 2): 3})
    month = month_overview(service, None, date(2026, 6, 4), date(2026, 6, 1))
    assert service.asked == (date(2026, 6, 1), date(2026, 7, 5))
    assert [monday for monday, _days in month["weeks"]] == [date(2026, 6, day) for day in (1, 8, 15, 22, 29)]
    assert month["weeks"][0][1][1] == MonthDay(date(2026, 6, 2), 3, True)
    assert month["weeks"][-1][1][-1] == MonthDay(date(2026, 7, 5), 0, False)
    assert (month["first"], month["previous"], month["next"]) == (date(2026, 6, 1), date(2026, 5, 1), date(2026, 7, 1))
