"""The interviewer's system prompt: the role's base prompt plus the job's context."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from backend.app.services.roles import DEFAULT_ROLE, NON_TECHNICAL_ROLES

DESCRIPTION_LIMIT = 500


@dataclass(frozen=True)
class JobContext:
    title: str
    company: str
    role_category: str | None
    experience_level: str | None
    description: str
    required_skills: tuple[str, ...]
    tech_stack: tuple[str, ...]


class PromptLibrary:
    def __init__(self, base_prompts: dict[str, str]) -> None:
        self.base_prompts = base_prompts

    @classmethod
    def load(cls, directory: Path) -> PromptLibrary:
        return cls(
            {
                path.stem: path.read_text(encoding="utf-8").strip()
                for path in sorted(directory.glob("*.md"))
                if path.stem != "README"
            }
        )

    def system_prompt(self, role_type: str, job: JobContext | None) -> str:
        base = self.base_prompts.get(role_type) or self.base_prompts[DEFAULT_ROLE]
        if job is None:
            return base
        description = job.description.strip()
        if len(description) > DESCRIPTION_LIMIT:
            description = description[:DESCRIPTION_LIMIT].rstrip() + "…"
        lines = [
            "## Job context",
            f"- Title: {job.title}",
            f"- Company: {job.company}",
            f"- Role category: {job.role_category or 'not stated'}",
            f"- Experience level: {job.experience_level or 'not stated'}",
            f"- Required skills: {', '.join(job.required_skills) or 'not stated'}",
            f"- Tech stack: {', '.join(job.tech_stack) or 'not stated'}",
            f"- Description: {description or 'not stated'}",
        ]
        if role_type in NON_TECHNICAL_ROLES:
            lines.append(
                "This is a non-technical role: do not ask coding or programming questions."
            )
        lines.append("Tailor follow-up questions to this job and its required skills.")
        return base + "\n\n" + "\n".join(lines)
