"""The week grid, a day in words and the month overview: pure layout over day plans, no Flask.

Only the month overview reads the database (the doctor's calendar and the counts, through the real service).
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from carebook.availability import DayPlan
from carebook.availability.calendar_view import (CHUNK_UNITS, NO_SUCH_TIME, DayMark, MonthDay, Piece, day_marks,
                                                 day_summary, month_overview, week_grid)
from carebook.extensions import db
from models import Appointment, DateOverride, TimeOff
from tests.carebook.availability.helpers import LONDON, at, book
from tests.factories import add_time_off

TUESDAY = date(2026, 6, 2)
#: The week the clocks go back in London: 02:00 BST on Sunday 25 October 2026 becomes 01:00 GMT.
AUTUMN_MONDAY, AUTUMN_SUNDAY = date(2026, 10, 19), date(2026, 10, 25)
#: ... and the week they go forward: 01:00 GMT on Sunday 29 March 2026 becomes 02:00 BST.
SPRING_MONDAY, SPRING_SUNDAY = date(2026, 3, 23), date(2026, 3, 29)
UTC = timezone.utc


def plan(day=TUESDAY, working=((9, 17),), one_off=None, time_off=(), appointments=()) -> DayPlan:
    return DayPlan(day=day, working=[(at(day, start), at(day, end)) for start, end in working], one_off=one_off,
                   time_off=list(time_off), appointments=list(appointments))


def appointment(start: tuple[int, int], end: tuple[int, int], day=TUESDAY) -> Appointment:
    return Appointment(start_at=at(day, *start), end_at=at(day, *end))


def utc_appointment(start_at: datetime, minutes: int) -> Appointment:
    return Appointment(start_at=start_at, end_at=start_at + timedelta(minutes=minutes))


def week(monday: date, **sunday) -> list[DayPlan]:
    """A week of 09:00-17:00 weekdays and a Saturday off; Sunday as given (off by default)."""
    days = [monday + timedelta(days=n) for n in range(7)]
    return [*(plan(day) for day in days[:5]), plan(days[5], working=()), plan(days[6], **{"working": (), **sunday})]


def night_clinic(**more) -> dict:
    """A Sunday's one-off hours, 00:00 to 03:00 on the wall clock: the clock change is inside them."""
    return {"working": ((0, 3),), "one_off": ((time(0), time(3)),), **more}


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


def test_a_day_in_words_says_when_the_clocks_change():
    assert day_summary(plan(AUTUMN_SUNDAY, **night_clinic()), LONDON) == [
        "One-off hours 00:00–03:00", "Clocks go back: 01:00–02:00 happens twice"]
    assert day_summary(plan(SPRING_SUNDAY, working=()), LONDON) == [
        "Not working", "Clocks go forward: 01:00–02:00 is skipped"]


def test_time_off_in_the_repeated_hour_says_which_pass_of_it():
    away = TimeOff(start_at=datetime(2026, 10, 25, 0, 30, tzinfo=UTC), end_at=datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
                   reason="")
    assert day_summary(plan(AUTUMN_SUNDAY, time_off=[away], **night_clinic()), LONDON)[1] == \
        "Time off 01:30 BST–01:30 GMT"


# --------------------------------------------------------------------------- short appointments


def test_the_grid_knows_its_height_in_units():
    assert week_grid([plan()], LONDON).units == 10 * 12


def test_appointments_of_5_10_and_15_minutes_each_have_a_block_of_their_own():
    booked = [appointment((9, 0), (9, 5)), appointment((9, 5), (9, 15)), appointment((9, 15), (9, 30))]
    blocks = [piece for piece in week_grid([plan(appointments=booked)], LONDON).days[0].pieces
              if piece.state == "appointments"]
    assert [(piece.units, piece.appointments) for piece in blocks] == [(1, booked[:1]), (2, booked[1:2]),
                                                                       (3, booked[2:])]


def test_a_block_with_less_than_half_an_hour_per_appointment_is_compact():
    seven_minutes = [appointment((11, 0), (11, 7)), appointment((11, 7), (11, 14)), appointment((11, 14), (11, 21))]
    booked = [appointment((9, 0), (9, 15)), appointment((10, 0), (10, 30)), *seven_minutes]
    blocks = [piece for piece in week_grid([plan(appointments=booked)], LONDON).days[0].pieces
              if piece.state == "appointments"]
    assert [(piece.units, len(piece.appointments), piece.compact) for piece in blocks] == [
        (3, 1, True), (6, 1, False), (5, 3, True)]


# --------------------------------------------------------------------------- the clocks changing


def test_the_hour_the_clocks_go_back_is_in_the_week_twice():
    grid = week_grid(week(AUTUMN_MONDAY, **night_clinic()), LONDON)
    assert grid.hours[:4] == ["00:00", "01:00 BST", "01:00 GMT", "02:00"]
    assert grid.hours[-1] == "17:00" and grid.end_label == "18:00" and grid.units == 19 * 12
    assert [sum(piece.units for piece in column.pieces) for column in grid.days] == [grid.units] * 7
    assert grid.clock_change


def test_short_appointments_around_the_repeated_hour_keep_their_order_and_places():
    starts = [datetime(2026, 10, 24, 23, 45, tzinfo=UTC),  # 00:45 BST
              datetime(2026, 10, 25, 0, 0, tzinfo=UTC),  # 01:00 BST
              datetime(2026, 10, 25, 0, 45, tzinfo=UTC),  # 01:45 BST, ending at 01:00 GMT
              datetime(2026, 10, 25, 1, 0, tzinfo=UTC),  # 01:00 GMT
              datetime(2026, 10, 25, 1, 15, tzinfo=UTC)]  # 01:15 GMT
    booked = [utc_appointment(start, 15) for start in starts]
    sunday = week_grid(week(AUTUMN_MONDAY, **night_clinic(appointments=booked)), LONDON).days[6]
    assert shape(sunday.pieces) == [
        (9, "one-off", False), (3, "appointments", False), (3, "appointments", False), (6, "one-off", False),
        (3, "appointments", False), (3, "appointments", False), (3, "appointments", False), (18, "one-off", False),
        (CHUNK_UNITS, "closed", False), (CHUNK_UNITS, "closed", True), (CHUNK_UNITS, "closed", True),
        (36, "closed", True)]
    assert [piece.appointments for piece in sunday.pieces if piece.appointments] == [[one] for one in booked]


def test_on_the_other_days_the_second_pass_of_the_hour_is_no_such_time():
    monday = week_grid(week(AUTUMN_MONDAY, **night_clinic()), LONDON).days[0]
    assert shape(monday.pieces) == [(24, "closed", False), (12, NO_SUCH_TIME, False), (CHUNK_UNITS, "closed", False),
                                     (36, "closed", True), (CHUNK_UNITS, "working", False),
                                     (CHUNK_UNITS, "working", True), (12, "closed", False)]


def test_the_hour_skipped_in_spring_is_no_such_time_on_that_day_only():
    grid = week_grid(week(SPRING_MONDAY, **night_clinic()), LONDON)
    assert grid.hours[:4] == ["00:00", "01:00", "02:00", "03:00"]
    assert shape(grid.days[6].pieces)[:3] == [(12, "one-off", False), (12, NO_SUCH_TIME, False),
                                              (12, "one-off", False)]
    assert NO_SUCH_TIME not in [piece.state for column in grid.days[:6] for piece in column.pieces]


def test_a_clock_change_outside_the_hours_shown_leaves_the_week_as_usual():
    grid = week_grid(week(AUTUMN_MONDAY), LONDON)
    assert grid.hours == [f"{hour:02d}:00" for hour in range(8, 18)] and not grid.clock_change


# --------------------------------------------------------------------------- the month


def hours(day: date, *spans: tuple[int, int]) -> list[tuple[datetime, datetime]]:
    return [(at(day, start), at(day, end)) for start, end in spans]


def test_a_day_without_hours_is_off():
    assert day_marks([], None, [], LONDON) == [DayMark("off", "Off", "not working")]


def test_a_day_closed_by_a_one_off_change_is_off_and_marked_one_off():
    assert day_marks([], (), [], LONDON) == [DayMark("off", "Off", "not working"),
                                             DayMark("one-off", "One-off", "closed all day")]


def test_time_off_over_all_the_hours_is_a_day_off():
    all_week = [(at(date(2026, 6, 1), 0), at(date(2026, 6, 6), 0))]
    assert day_marks(hours(TUESDAY, (9, 12), (13, 17)), None, all_week, LONDON) == [
        DayMark("off", "Off", "time off all day")]


def test_time_off_over_part_of_the_hours_says_which_part():
    time_off = hours(TUESDAY, (12, 14), (13, 15), (16, 18))
    assert day_marks(hours(TUESDAY, (9, 17)), None, time_off, LONDON) == [
        DayMark("part-off", "Part off", "time off 12:00–15:00, 16:00–17:00")]


def test_time_off_outside_the_hours_leaves_the_day_unmarked():
    evening_and_night = [(at(TUESDAY, 18), at(date(2026, 6, 3), 8))]
    assert day_marks(hours(TUESDAY, (9, 17)), None, evening_and_night, LONDON) == []


def test_one_off_hours_are_marked_with_the_hours_of_the_day():
    assert day_marks(hours(TUESDAY, (10, 13)), ((time(10), time(13)),), hours(TUESDAY, (12, 13)), LONDON) == [
        DayMark("part-off", "Part off", "time off 12:00–13:00"), DayMark("one-off", "One-off", "hours 10:00–13:00")]


def test_a_day_of_the_month_is_named_in_words():
    assert MonthDay(TUESDAY, 0, True).label == "2 June: no appointments"
    assert MonthDay(TUESDAY, 1, True).label == "2 June: 1 appointment"
    marks = [DayMark("part-off", "Part off", "time off 12:00–14:00"), DayMark("one-off", "One-off", "hours 10:00–13:00")]
    assert MonthDay(TUESDAY, 3, True, marks).label == \
        "2 June: 3 appointments, Part off: time off 12:00–14:00, One-off: hours 10:00–13:00"


def test_the_month_overview_is_whole_weeks_with_counts_and_marks(service, doctor, patient):
    for hour in (9, 10, 11):
        book(doctor, patient, at(TUESDAY, hour))
    book(doctor, patient, at(date(2026, 7, 3), 9))  # in the last week shown, in July
    add_time_off(doctor, at(date(2026, 6, 3), 12), at(date(2026, 6, 3), 14))
    add_time_off(doctor, at(date(2026, 6, 8), 0), at(date(2026, 6, 10), 0))
    db.session.add(DateOverride(doctor_id=doctor.id, on_date=date(2026, 6, 4), start_time=time(10), end_time=time(13)))
    db.session.flush()
    month = month_overview(service, doctor, date(2026, 6, 4), date(2026, 6, 1))
    assert [monday for monday, _days in month["weeks"]] == [date(2026, 6, day) for day in (1, 8, 15, 22, 29)]
    days = {cell.day: cell for _monday, cells in month["weeks"] for cell in cells}
    assert len(days) == 35 and days[TUESDAY] == MonthDay(TUESDAY, 3, True)
    assert days[date(2026, 6, 3)].marks == [DayMark("part-off", "Part off", "time off 12:00–14:00")]
    assert days[date(2026, 6, 4)].marks == [DayMark("one-off", "One-off", "hours 10:00–13:00")]
    assert days[date(2026, 6, 6)].marks == [DayMark("off", "Off", "not working")]
    assert [days[date(2026, 6, day)].marks for day in (8, 9, 10)] == [[DayMark("off", "Off", "time off all day")]] * 2 + [[]]
    assert days[date(2026, 7, 3)] == MonthDay(date(2026, 7, 3), 1, False)
    assert days[date(2026, 7, 5)] == MonthDay(date(2026, 7, 5), 0, False, [DayMark("off", "Off", "not working")])
    assert (month["first"], month["previous"], month["next"]) == (date(2026, 6, 1), date(2026, 5, 1), date(2026, 7, 1))
