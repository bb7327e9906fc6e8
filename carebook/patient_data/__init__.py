"""Patients' rights over their data: a copy of everything held (export), erasure, and the retention rule.

* :mod:`~carebook.patient_data.export`: everything the clinic holds about one patient, for
  the patient (account page) or for staff at the desk; as JSON and as a readable page
  (GDPR Art. 15, HIPAA right of access). Every export is audited.
* :mod:`~carebook.patient_data.erasure`: staff erase a patient at their request (GDPR
  Art. 17): identifying data removed, future appointments cancelled through the booking
  service (so the patient is told, and their reminders go by the usual path), the
  appointment history kept pseudonymised.
* :mod:`~carebook.patient_data.retention`: that kept history is deleted once older than
  RECORDS_RETENTION_YEARS (`flask patients purge-expired`).
"""
from __future__ import annotations

from typing import Mapping

from carebook.config import int_setting

#: Years an erased patient's pseudonymised appointment history is kept after each appointment.
DEFAULT_RETENTION_YEARS = 8


def settings(env: Mapping[str, str]) -> dict:
    """``RECORDS_RETENTION_YEARS`` from the environment (ConfigError if it is not a whole number of at least 1)."""
    return {"RECORDS_RETENTION_YEARS": int_setting(env, "RECORDS_RETENTION_YEARS", DEFAULT_RETENTION_YEARS,
                                                   minimum=1, unit="years")}
