"""Role mapping: what a job posting says ("Node.js", "Product Manager") to a role type.

Names are compared after dropping case, spaces and punctuation, so "Node.js", "node js" and
"NODEJS" are one name. Anything unknown is ``fullstack``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from pathlib import Path

DEFAULT_ROLE = "fullstack"
NON_TECHNICAL_ROLES = frozenset(
    {"sales", "support", "product", "design", "marketing", "operations", "management"}
)


def normalize_name(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", name.casefold())


class RoleMap:
    def __init__(self, names_by_role: dict[str, list[str]]) -> None:
        self._role_by_name: dict[str, str] = {}
        for role, names in names_by_role.items():
            for name in [role, *names]:
                key = normalize_name(name)
                existing = self._role_by_name.setdefault(key, role)
                if existing != role:
                    raise ValueError(f"role name {name!r} maps to both {existing} and {role}")
        self.role_types = frozenset(names_by_role)

    @classmethod
    def load(cls, path: Path) -> RoleMap:
        with path.open("rb") as handle:
            return cls(tomllib.load(handle)["roles"])

    def lookup(self, name: str | None) -> str | None:
        """The role type ``name`` maps to, or None when it is unknown."""
        if not name:
            return None
        return self._role_by_name.get(normalize_name(name))

    def resolve(self, name: str | None) -> str:
        return self.lookup(name) or DEFAULT_ROLE

    def for_posting(self, tech_stack: Iterable[str], role_category: str | None) -> str:
        """The story's rule: the tech stack first, then the role category, then fullstack."""
        for item in tech_stack:
            role = self.lookup(item)
            if role is not None:
                return role
        return self.resolve(role_category)
