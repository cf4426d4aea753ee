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
        self,
        role_type: str,
        total: int,
        seed: str,
        required_skills: Sequence[str] = (),
        tech_stack: Sequence[str] = (),
    ) -> list[BankQuestion]:
        """``total`` questions for ``role_type``, in level order.

        Picks greedily: each pick prefers a question about a required skill that no earlier
        pick covered, then more required skills, then more of the tech stack, then the role's
        own bank, then the interview's hash. So every required skill the banks know gets a
        question while the plan has room.
        """
        required = {skill_key(s) for s in required_skills} - {""}
        stack = {skill_key(s) for s in tech_stack} - {""} - required

        def about(question: BankQuestion, skills: set[str]) -> set[str]:
            text = question.text.casefold()
            return {s for s in skills if s in question.skills or s.replace("_", " ") in text}

        pool = [q for q in self.questions if q.role_type == role_type or about(q, required | stack)]
        ties = {q.id: hashlib.sha256(f"{seed}:{q.id}".encode()).hexdigest() for q in pool}
        uncovered = set(required)
        chosen: list[BankQuestion] = []

        def pick(candidates: list[BankQuestion]) -> BankQuestion:
            return min(
                candidates,
                key=lambda q: (
                    -len(about(q, uncovered)),
                    -len(about(q, required)),
                    -len(about(q, stack)),
                    q.role_type != role_type,
                    ties[q.id],
                ),
            )

        for level, count in level_counts(total).items():
            for _ in range(count):
                candidates = [q for q in pool if q.difficulty == level and q not in chosen]
                if not candidates:
                    break
                question = pick(candidates)
                chosen.append(question)
                uncovered -= about(question, required)
        while len(chosen) < total:  # a thin bank: fill from whatever is left
            rest = [q for q in pool if q not in chosen]
            if not rest:
                break
            chosen.append(pick(rest))
        return sorted(chosen, key=lambda q: LEVELS.index(q.difficulty))
