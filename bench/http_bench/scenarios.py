"""The measured scenarios: what each one asks of the server, its label in the table and the
answer it expects. Each factory returns a function that gives the next request as
``(raw bytes, method, context)``, or None when the scenario has nothing left to send.

Standard library only: it runs in the load generator's process, which never imports the app.
"""
from __future__ import annotations

import json
from datetime import date, timedelta

from .client import HttpClient, Patient, Response
from .settings import SLOT_DAYS

SCENARIOS = ("trivial", "signed-in", "slots", "slots-mixed", "doctors", "booking", "booking-mixed")
EXPECTED_STATUSES = {"booking": (201,), "booking-mixed": (201,)}  # every other scenario expects 200
#: The scenarios that need the mixed-types doctors (--mixed-doctors).
MIXED_SCENARIOS = ("slots-mixed", "booking-mixed")


def label(name: str, trivial_path: str) -> str:
    """The scenario's row label in the table."""
    return {"trivial": f"trivial  GET {trivial_path}",
            "signed-in": "signed-in GET /api/csrf-token (session only)",
            "slots": f"slots    GET /api/doctors/{{id}}/slots ({SLOT_DAYS} d)",
            "slots-mixed": f"slots-mixed GET /api/doctors/{{id}}/slots?type_id= ({SLOT_DAYS} d, mixed types)",
            "doctors": "doctors  GET /api/doctors",
            "booking": "booking  POST /api/appointments",
            "booking-mixed": "booking-mixed POST /api/appointments (type_id, mixed types)"}[name]


def keep_cookies(patient: Patient | None, response: Response) -> None:
    """After each answer: a patient's session cookie may have been renewed."""
    if patient is not None and any(k == "set-cookie" for k, _ in response.headers):
        patient.cookies.update(response.cookies())


class Scenarios:
    """Request factories over the signed-in patients, rotating over them and over the doctors.

    ``jobs`` are the bookings to make, each a different slot that was free when fetched;
    the booking scenario takes them in order and stops when none is left. The mixed-types
    scenarios do the same over ``mixed_doctor_ids`` and their ``mixed_type_ids``, with ``mixed_jobs``.
    """

    def __init__(self, client: HttpClient, patients: list[Patient], doctor_ids: list[int], today: date,
                 trivial_path: str, jobs: list[tuple], mixed_doctor_ids: list[int] = (),
                 mixed_type_ids: list[int] = (), mixed_jobs: list[tuple] = ()):
        self.client, self.patients, self.doctor_ids = client, patients, doctor_ids
        self.today, self.trivial_path = today, trivial_path
        self.mixed_doctor_ids, self.mixed_type_ids = list(mixed_doctor_ids), list(mixed_type_ids)
        self.queues = {"booking": list(jobs), "booking-mixed": list(mixed_jobs)}
        self.taken = {"booking": 0, "booking-mixed": 0}
        self.counter = 0

    def factory(self, name: str):
        return {"trivial": self.trivial, "signed-in": self.signed_in, "slots": self.slots,
                "slots-mixed": self.slots_mixed, "doctors": self.doctors, "booking": self.booking,
                "booking-mixed": self.booking_mixed}[name]()

    def out_of_slots(self, name: str = "booking") -> bool:
        return self.taken[name] >= len(self.queues[name])

    def _next_patient(self) -> Patient:
        self.counter += 1
        return self.patients[self.counter % len(self.patients)]

    def trivial(self):
        # Anonymous: no cookie (for /api/csrf-token that means each answer sets a new one).
        raw = self.client.build("GET", self.trivial_path)
        return lambda: (raw, "GET", None)

    def signed_in(self):
        # The floor of every signed-in request: the session is loaded (a query), little else is done.
        def make():
            patient = self._next_patient()
            return self.client.build("GET", "/api/csrf-token", {"Cookie": patient.cookie_header()}), "GET", None
        return make

    def slots(self):
        start, end = self.today + timedelta(days=1), self.today + timedelta(days=SLOT_DAYS)

        def make():
            patient = self._next_patient()
            doctor_id = self.doctor_ids[self.counter % len(self.doctor_ids)]
            return (self.client.build("GET", f"/api/doctors/{doctor_id}/slots?from={start}&to={end}",
                                      {"Cookie": patient.cookie_header()}), "GET", None)
        return make

    def slots_mixed(self):
        """As ``slots``, for one of the mixed doctor's types in turn (10 to 40 minutes, some with buffers)."""
        start, end = self.today + timedelta(days=1), self.today + timedelta(days=SLOT_DAYS)

        def make():
            patient = self._next_patient()
            doctor_id = self.mixed_doctor_ids[self.counter % len(self.mixed_doctor_ids)]
            type_id = self.mixed_type_ids[(self.counter // len(self.mixed_doctor_ids)) % len(self.mixed_type_ids)]
            return (self.client.build("GET", f"/api/doctors/{doctor_id}/slots?from={start}&to={end}&type_id={type_id}",
                                      {"Cookie": patient.cookie_header()}), "GET", None)
        return make

    def doctors(self):
        def make():
            patient = self._next_patient()
            return self.client.build("GET", "/api/doctors", {"Cookie": patient.cookie_header()}), "GET", None
        return make

    def booking(self, name: str = "booking"):
        def make():
            if self.out_of_slots(name):
                return None
            patient, doctor_id, start_at, type_id = self.queues[name][self.taken[name]]
            self.taken[name] += 1
            fields = {"doctor_id": doctor_id, "start_at": start_at, "reason": "Load test"}
            if type_id is not None:
                fields["type_id"] = type_id
            return (self.client.build("POST", "/api/appointments", {
                "Content-Type": "application/json", "Cookie": patient.cookie_header(),
                "X-CSRFToken": patient.csrf_token}, json.dumps(fields).encode()), "POST", patient)
        return make

    def booking_mixed(self):
        return self.booking("booking-mixed")
