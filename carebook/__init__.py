"""Carebook: appointment booking for one medical clinic.

The core package: configuration, extensions, the unit of work, and the domain services
(the slot engine, booking, availability, accounts). ``carebook.app.create_app``, the
composition root, builds the one Flask application that serves the patient and doctor
portal, the JSON API and the staff console; the README's "Layout" says what lives where.
"""
