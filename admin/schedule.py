"""The front desk's day: every doctor's appointments and free slots side by side, one column per doctor."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import request
from flask_admin import BaseView, expose
from sqlalchemy import or_, select

from admin.base import StaffOnlyMixin, clinic_zone, parse_day, today
from admin.filters import local_day_window
from carebook.extensions import db
from carebook.services import booking_service
from models import Appointment, AppointmentStatus, Doctor, User


@dataclass
class Cell:
    """One doctor's cell in the grid: what starts at this row's time and how many rows it spans."""

    items: list = field(default_factory=list)  # Appointments and free slots
    rowspan: int = 1
    until: datetime | None = None

    @property
    def is_empty(self) -> bool:
        return not self.items


def build_grid(doctors: list[Doctor], appointments: list[Appointment], free: dict[int, list]
               ) -> tuple[list[datetime], dict[tuple[int, int], Cell | None]]:
    """Rows are the instants at which anything starts; a cell spans the rows its items cover.

    Returns the row instants and, per (row index, doctor id), the Cell to draw there,
    or None where the cell above spans over it.
    """
    starts: dict[int, dict[datetime, list]] = {doctor.id: {} for doctor in doctors}
    for appointment in appointments:
        starts[appointment.doctor_id].setdefault(appointment.start_at, []).append(appointment)
    for doctor_id, slots in free.items():
        for slot in slots:
            starts[doctor_id].setdefault(slot.start_at, []).append(slot)
    rows = sorted({instant for by_start in starts.values() for instant in by_start})
    grid: dict[tuple[int, int], Cell | None] = {}
    for doctor in doctors:
        open_cell: Cell | None = None
        for index, instant in enumerate(rows):
            items = starts[doctor.id].get(instant, [])
            if open_cell is not None and instant < open_cell.until:
                # Still inside the cell above (e.g. a 60-minute appointment among 15-minute rows).
                open_cell.rowspan += 1
                open_cell.items.extend(items)
                open_cell.until = max([open_cell.until, *(item.end_at for item in items)])
                grid[index, doctor.id] = None
                continue
            if items:
                open_cell = Cell(items=list(items), until=max(item.end_at for item in items))
            else:
                open_cell = None
            grid[index, doctor.id] = open_cell or Cell()
    return rows, grid


class ScheduleView(StaffOnlyMixin, BaseView):
    @expose("/")
    def index(self):
        day = parse_day(request.args.get("day")) or today()
        start, end = local_day_window(day, day)
        appointments = db.session.scalars(
            select(Appointment).where(Appointment.start_at >= start, Appointment.start_at < end,
                                      Appointment.status != AppointmentStatus.CANCELLED)
            .order_by(Appointment.start_at)).all()
        busy_doctor_ids = {appointment.doctor_id for appointment in appointments}
        doctors = db.session.scalars(
            select(Doctor).join(Doctor.user).where(or_(Doctor.is_active, Doctor.id.in_(busy_doctor_ids)))
            .order_by(User.full_name, Doctor.id)).all()
        free = booking_service().free_slots_for(doctors, day, day)
        rows, grid = build_grid(doctors, appointments, free)
        return self.render("admin/schedule.html", day=day, today=today(), doctors=doctors, rows=rows, grid=grid,
                           previous_day=day - timedelta(days=1), next_day=day + timedelta(days=1),
                           zone=clinic_zone(), is_appointment=lambda item: isinstance(item, Appointment),
                           free_count=sum(len(slots) for slots in free.values()))
