"""The patient and doctor portal, sign-in, and the JSON API: thin views over the services."""
