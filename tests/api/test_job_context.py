"""Job-context-aware interviewing: role mapping, question planning, the interviewer's prompt,
and the content shipped in resources/."""

from __future__ import annotations

import tomllib

import pytest

from backend.app.core.resources import resources_dir
from backend.app.models.enums import Difficulty
from backend.app.services.catalog import Catalog
from backend.app.services.prompts import JobContext
from backend.app.services.question_planner import level_counts
from backend.app.services.roles import NON_TECHNICAL_ROLES

ROLE_TYPES = [
    "python", "react", "javascript", "typescript", "nodejs", "go", "rust", "java", "php",
    "fullstack", "data_engineering", "devops", "qa_automation",
    "sales", "support", "product", "design", "marketing", "operations", "management",
]  # fmt: skip


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("Node.js", "nodejs"), ("nodejs", "nodejs"), ("node", "nodejs"), ("NODE JS", "nodejs"),
        ("Product Manager", "product"), ("product-manager", "product"),
        ("Python", "python"), ("Django", "python"), ("FastAPI", "python"),
        ("React", "react"), ("Golang", "go"), ("Go", "go"), ("Rust", "rust"),
        ("Spring Boot", "java"), ("Kotlin", "java"), ("Laravel", "php"),
        ("TypeScript", "typescript"), ("Full Stack", "fullstack"),
        ("Data Engineer", "data_engineering"), ("Airflow", "data_engineering"),
        ("Kubernetes", "devops"), ("SRE", "devops"), ("QA Automation", "qa_automation"),
        ("SDET", "qa_automation"), ("Account Executive", "sales"), ("Customer Support", "support"),
        ("UX Designer", "design"), ("SEO Specialist", "marketing"), ("Logistics", "operations"),
        ("Engineering Manager", "management"),
        ("COBOL", "fullstack"), ("", "fullstack"), ("???", "fullstack"),
    ],
)  # fmt: skip
def test_role_mapping_ignores_case_spaces_and_punctuation(
    catalog: Catalog, name: str, role: str
) -> None:
    assert catalog.roles.resolve(name) == role


@pytest.mark.parametrize(
    ("tech_stack", "role_category", "role"),
    [
        (["Kubernetes", "Go"], "Backend", "devops"),  # the first known stack item wins
        (["Nonsense", "React"], "DevOps", "react"),  # unknown items are skipped
        ([], "Product Manager", "product"),  # then the role category
        (["Nonsense"], "Unknown category", "fullstack"),  # then fullstack
        ([], None, "fullstack"),
    ],
)
def test_role_from_a_posting_prefers_tech_stack_then_category(
    catalog: Catalog, tech_stack: list[str], role_category: str | None, role: str
) -> None:
    assert catalog.roles.for_posting(tech_stack, role_category) == role


def test_role_mapping_has_at_least_fifty_names_covering_every_role() -> None:
    table = tomllib.loads((resources_dir() / "role_mappings.toml").read_text())["roles"]
    assert set(table) == set(ROLE_TYPES)
    assert sum(len(names) for names in table.values()) >= 50


@pytest.mark.parametrize("role", ROLE_TYPES)
def test_every_role_has_a_prompt_and_a_bank_of_eight_with_every_level(
    catalog: Catalog, role: str
) -> None:
    assert len(catalog.prompts.base_prompts[role]) > 200
    bank = [q for q in catalog.questions.questions if q.role_type == role]
    assert len(bank) >= 8
    assert {q.difficulty for q in bank} == set(Difficulty)
    assert all(q.skills for q in bank)


@pytest.mark.parametrize(
    ("total", "expected"),
    [(1, (1, 0, 0)), (3, (1, 1, 1)), (5, (1, 2, 2)), (8, (2, 4, 2)), (10, (2, 5, 3))],
)
def test_level_counts_climb_from_warmup(total: int, expected: tuple[int, int, int]) -> None:
    counts = level_counts(total)
    assert tuple(counts[level] for level in Difficulty) == expected


def test_plan_is_deterministic_per_interview_and_varies_between(catalog: Catalog) -> None:
    plans = [tuple(q.id for q in catalog.questions.plan("python", 5, f"i-{n}")) for n in range(8)]
    assert plans[0] == tuple(q.id for q in catalog.questions.plan("python", 5, "i-0"))
    assert len(set(plans)) > 1


def test_required_skills_pull_matching_questions_first(catalog: Catalog) -> None:
    plan = catalog.questions.plan("devops", 5, "seed", required_skills=["Kubernetes", "Terraform"])
    assert [q.difficulty for q in plan] == sorted(
        (q.difficulty for q in plan), key=[*Difficulty].index
    )
    standard_and_advanced = [q for q in plan if q.difficulty != Difficulty.WARMUP]
    assert all({"kubernetes", "terraform"} & set(q.skills) for q in standard_and_advanced)
    text = " ".join(q.text for q in plan)
    assert "Kubernetes" in text and "Terraform" in text


@pytest.mark.parametrize("seed", [f"interview-{n}" for n in range(40)])
def test_every_required_skill_gets_a_question_whatever_the_seed(
    catalog: Catalog, seed: str
) -> None:
    plan = catalog.questions.plan(
        "devops", 5, seed, required_skills=["kubernetes", "terraform"],
        tech_stack=["Kubernetes", "Terraform", "AWS"],
    )  # fmt: skip
    text = " ".join(q.text for q in plan)
    assert "Kubernetes" in text and "Terraform" in text


def test_skills_reach_across_banks(catalog: Catalog) -> None:
    plan = catalog.questions.plan("fullstack", 5, "seed", required_skills=["kubernetes"])
    assert any("Kubernetes" in q.text for q in plan)


JOB = JobContext(
    title="Account Executive", company="Tailspin", role_category="Sales", experience_level="mid",
    description="Sell. " * 200, required_skills=("negotiation",), tech_stack=(),
)  # fmt: skip


def test_prompt_has_the_job_context_block_and_cuts_the_description(catalog: Catalog) -> None:
    prompt = catalog.prompts.system_prompt("sales", JOB)
    assert prompt.startswith(catalog.prompts.base_prompts["sales"])
    assert "- Title: Account Executive" in prompt
    assert "- Company: Tailspin" in prompt
    assert "- Experience level: mid" in prompt
    assert "- Required skills: negotiation" in prompt
    description = next(line for line in prompt.splitlines() if line.startswith("- Description:"))
    assert len(description.removeprefix("- Description: ")) <= 501
    assert "do not ask coding or programming questions" in prompt


@pytest.mark.parametrize("role", sorted(NON_TECHNICAL_ROLES))
def test_non_technical_roles_are_told_not_to_ask_coding(catalog: Catalog, role: str) -> None:
    assert "do not ask coding" in catalog.prompts.system_prompt(role, JOB)


def test_technical_roles_may_ask_technical_questions(catalog: Catalog) -> None:
    prompt = catalog.prompts.system_prompt("python", JOB)
    assert "This is a non-technical role" not in prompt
