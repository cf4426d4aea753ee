"""ORM models. Importing this package registers every table on ``Base.metadata``."""

from backend.app.models.audit import AuditEntry
from backend.app.models.base import Base

__all__ = ["AuditEntry", "Base"]
