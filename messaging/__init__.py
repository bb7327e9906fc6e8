"""Building emails and handing them over for delivery: the mail library of the web app and the reminder function.

Both sides send mail the same way, so the pieces live here rather than in either of
them: :mod:`messaging.message` builds a MIME email (text, HTML, attachments),
:mod:`messaging.mailers` hands it to SES, an SMTP server or a folder of ``.eml`` files
(all three behind one ``Mailer`` protocol), and :mod:`messaging.errors` describes a
failed send for logs without personal data.

Standard library only: the reminder function's deployment zip carries this package
(``python -m lambda_handler.build``), and it imports nothing of the web app nor of
``lambda_handler``. An SES mailer is given its boto3 client by its caller.
"""
