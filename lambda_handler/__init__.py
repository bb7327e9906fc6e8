"""The reminder function: drains SQS batches of reminder payloads and sends each email once.

Deployed on its own (see :mod:`lambda_handler.build`), so it imports nothing of the
web application: only the standard library and boto3 (which the Lambda runtime
provides). The web app may import it, never the other way round. The entry point is
:func:`lambda_handler.handler.handler`.
"""
