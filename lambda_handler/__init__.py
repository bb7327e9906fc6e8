"""The reminder function: drains SQS batches of reminder payloads and sends each email once.

Deployed on its own (see :mod:`lambda_handler.build`), so it imports nothing of the
web application: only the standard library, boto3 (which the Lambda runtime
provides) and :mod:`messaging`, the mail library it shares with the web app and
carries in its zip.

Public surface. The web app's embedded mode feeds the very same handler an
SQS-shaped event (docs/reminders.md), and builds the messages it reads; for that it
may use these names and nothing else of the package (a test checks it):

* ``lambda_handler.handler.handler``: the entry point, ``handler(event, context, services=None)``;
* ``lambda_handler.handler.Services``: what a caller other than the Lambda runtime passes it;
* ``lambda_handler.idempotency.IdempotencyStore`` and ``lambda_handler.idempotency.Claim``:
  the protocol the caller's idempotency store implements, and its answers;
* ``lambda_handler.payload.VERSION``: the message version the handler accepts (the
  fields are described in :mod:`lambda_handler.payload`).

Everything else (parsing, rendering, logging, the DynamoDB store, the build script) is
the function's own and may change without notice.
"""
