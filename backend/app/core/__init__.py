"""Settings, database, logging and the domain exception tree."""
