"""Carebook: appointment booking for one medical clinic.

The core package: configuration, extensions, the unit of work, and the domain services
(the slot engine, booking, availability, accounts). ``carebook.app.create_app`` builds
the one Flask application that serves the patient and doctor portal, the JSON API and
the staff console; see the README's "Layout" section for what lives where.
"""
from __future__ import annotations


def create_app(*args, **kwargs):  # TEMPORARY until the callers import carebook.app
    from carebook.app import create_app as build

    return build(*args, **kwargs)


from carebook.config import ConfigError  # noqa: E402  TEMPORARY
