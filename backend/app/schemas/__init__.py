"""Pydantic shapes of the API, defined once and shared by routes, OpenAPI and tests."""
