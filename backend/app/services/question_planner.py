"""Planning an interview's questions from the banks in ``resources/questions/``.

The plan climbs warmup -> standard -> advanced. Within each level the questions that match the
posting's required skills and tech stack come first (a posting asking for Kubernetes gets
Kubernetes questions, from any bank), then the role's own bank. Ties are broken by a hash of the
interview id, so a plan is deterministic for an interview and varies between interviews.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from backend.app.models.enums import Difficulty

LEVELS = (Difficulty.WARMUP, Difficulty.STANDARD, Difficulty.ADVANCED)


@dataclass(frozen=True)
class BankQuestion:
    id: str
    role_type: str
    text: str
    difficulty: Difficulty
    skills: tuple[str, ...]


def skill_key(skill: str) -> str:
    """ "CI/CD" -> "ci_cd", "Kubernetes" -> "kubernetes": the banks' tag spelling."""
    return re.sub(r"[^0-9a-z]+", "_", skill.casefold()).strip("_")


def level_counts(total: int) -> dict[Difficulty, int]:
    """How many questions of each level: one warmup (two from 7 up), ~30% advanced, the rest
    standard. 5 -> 1/2/2."""
    if total <= 0:
        return dict.fromkeys(LEVELS, 0)
    warmup = 1 if total < 7 else 2
    advanced = max(1, round(total * 0.3)) if total >= 3 else 0
    standard = max(0, total - warmup - advanced)
    return {Difficulty.WARMUP: warmup, Difficulty.STANDARD: standard, Difficulty.ADVANCED: advanced}


class QuestionBank:
    def __init__(self, questions: Iterable[BankQuestion]) -> None:
        self.questions = tuple(questions)
        self.role_types = frozenset(q.role_type for q in self.questions)

    @classmethod
    def load(cls, directory: Path) -> QuestionBank:
        questions: list[BankQuestion] = []
        for path in sorted(directory.glob("*.toml")):
            with path.open("rb") as handle:
                bank = tomllib.load(handle)
            for item in bank["questions"]:
                questions.append(
                    BankQuestion(
                        id=item["id"],
                        role_type=bank["role_type"],
                        text=item["text"],
                        difficulty=Difficulty(item["difficulty"]),
                        skills=tuple(skill_key(s) for s in item.get("skills", [])),
                    )
                )
        return cls(questions)

    def plan(
        self, role_type: str, wanted_skills: Sequence[str], total: int, seed: str
    ) -> list[BankQuestion]:
        """``total`` questions for ``role_type`` favouring ``wanted_skills``, in level order."""
        wanted = {skill_key(s) for s in wanted_skills if skill_key(s)}

        def matches(question: BankQuestion) -> int:
            text = question.text.casefold()
            return sum(1 for s in wanted if s in question.skills or s.replace("_", " ") in text)

        def rank(question: BankQuestion) -> tuple[int, int, str]:
            tie = hashlib.sha256(f"{seed}:{question.id}".encode()).hexdigest()
            return (-matches(question), 0 if question.role_type == role_type else 1, tie)

        pool = [q for q in self.questions if q.role_type == role_type or matches(q) > 0]
        chosen: list[BankQuestion] = []
        for level, count in level_counts(total).items():
            at_level = sorted((q for q in pool if q.difficulty == level), key=rank)
            chosen.extend(at_level[:count])
        if len(chosen) < total:  # a thin bank: fill from whatever is left, best first
            rest = sorted((q for q in pool if q not in chosen), key=rank)
            chosen.extend(rest[: total - len(chosen)])
        return sorted(chosen, key=lambda q: LEVELS.index(q.difficulty))
