"""The reminder email's text, in plain text and HTML. Standard library only.

Only the whitelisted fields of the payload appear: first name, time, type of appointment
(if the message has one), doctor, clinic, manage link. Nothing else the message might carry is ever rendered.
"""
from __future__ import annotations

from dataclasses import dataclass
from html import escape
from string import Template

from lambda_handler.payload import ReminderPayload

SUBJECT = Template("Reminder: your appointment on $when")

TEXT = Template("""\
Hello $first_name,

This is a reminder of your appointment at $clinic_name.

  When:   $when
${what_text}  Doctor: $doctor
  Where:  $clinic_name, $clinic_address

To cancel or change it, go to $manage_url
or call us on $clinic_phone.

See you soon,
$clinic_name
""")

HTML = Template("""\
<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>$subject</title></head>
<body style="font-family: Arial, Helvetica, sans-serif; color: #1f2933; line-height: 1.5;">
  <p>Hello $first_name,</p>
  <p>This is a reminder of your appointment at $clinic_name.</p>
  <table role="presentation" style="border-collapse: collapse;">
    <tr><th align="left" style="padding: 2px 12px 2px 0;">When</th><td>$when</td></tr>
    ${what_html}<tr><th align="left" style="padding: 2px 12px 2px 0;">Doctor</th><td>$doctor</td></tr>
    <tr><th align="left" style="padding: 2px 12px 2px 0;">Where</th><td>$clinic_name, $clinic_address</td></tr>
  </table>
  <p><a href="$manage_url">Cancel or change your appointment</a> or call us on $clinic_phone.</p>
  <p>See you soon,<br>$clinic_name</p>
</body>
</html>
""")


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def render_reminder(payload: ReminderPayload) -> RenderedEmail:
    fields = {
        "first_name": payload.first_name,
        "when": payload.local_time_text,
        "doctor": payload.doctor_name,
        "clinic_name": payload.clinic.name,
        "clinic_address": payload.clinic.address,
        "clinic_phone": payload.clinic.phone,
        "manage_url": payload.manage_url,
    }
    subject = SUBJECT.substitute(when=payload.local_time_text)
    html_fields = {key: escape(value, quote=True) for key, value in fields.items()}
    what = payload.appointment_type
    what_text = f"  What:   {what}\n" if what else ""
    what_html = (f'<tr><th align="left" style="padding: 2px 12px 2px 0;">What</th><td>{escape(what, quote=True)}'
                 f'</td></tr>\n    ' if what else "")
    return RenderedEmail(
        subject=subject,
        text=TEXT.substitute(fields, what_text=what_text),
        html=HTML.substitute(html_fields, subject=escape(subject), what_html=what_html),
    )
