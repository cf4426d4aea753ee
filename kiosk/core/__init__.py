"""Kiosk logic with no Qt imports: configuration, API and stream clients, the flow."""
