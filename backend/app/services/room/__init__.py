"""The room: every enrolled kiosk's live state, its alerts, and commands sent to it."""
