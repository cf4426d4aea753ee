"""Everything read from ``resources/`` once at start-up: role map, question banks, prompts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from backend.app.core.resources import resources_dir
from backend.app.services.prompts import PromptLibrary
from backend.app.services.question_planner import QuestionBank
from backend.app.services.roles import RoleMap


@dataclass(frozen=True)
class Catalog:
    roles: RoleMap
    questions: QuestionBank
    prompts: PromptLibrary

    @classmethod
    def load(cls, root: Path | None = None) -> Catalog:
        root = root or resources_dir()
        return cls(
            roles=RoleMap.load(root / "role_mappings.toml"),
            questions=QuestionBank.load(root / "questions"),
            prompts=PromptLibrary.load(root / "prompts"),
        )
