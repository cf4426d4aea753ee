"""Staff web pages served by the backend (the room console), rendered from Jinja2 templates."""
