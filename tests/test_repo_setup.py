"""Promises about the repository itself: CI runs the README's test command, imports flow
downward, and the public API lists what it exports."""

import ast
import re
from pathlib import Path

import pytest

import cogos
import memory

ROOT = Path(__file__).resolve().parent.parent
OURS = {"cogos", "memory", "modules", "policies", "envs"}

# What each package may import of ours (DESIGN.md: memory and envs import nothing of the others;
# the kernel only protocols; modules the kernel, memory and env helpers; policies also modules).
ALLOWED = {
    "memory": set(),
    "envs": set(),
    "cogos": {"memory"},
    "modules": {"cogos", "memory", "envs"},
    "policies": {"cogos", "memory", "envs", "modules"},
}


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- test-command -->\s*```bash\n(.+?)\n```", readme, re.S)
    assert match, "README.md must mark its test command with <!-- test-command -->"
    command = match.group(1).strip()
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert command in ci_lines, f".ci/run must run the README's test command: {command}"
    # ... in a clean venv: nothing installs into .venv before it, and it starts from none
    before = ci_lines[: ci_lines.index(command)]
    assert "rm -rf .venv" in before, ".ci/run must remove .venv before the README's command"
    assert not [line for line in before if ".venv/bin/pip" in line or "pip install" in line]


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & OURS


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_flow_downward(package: str) -> None:
    bad = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        extra = imported_packages(path) - ALLOWED[package] - {package}
        if extra:
            bad[str(path.relative_to(ROOT))] = sorted(extra)
    assert not bad, f"{package} imports upward: {bad}"


def test_kernel_imports_only_protocols_from_memory() -> None:
    # the records, working memory, errors, the did-you-mean helper, the tracer protocol, and the
    # memory OS facade with its config (the agent's default store; everything else goes through
    # cogos.long_term_memory)
    allowed = {
        "memory",
        "memory.tracing",
        "memory.cycle_records",
        "memory.working",
        "memory.errors",
        "memory.suggestions",
        "memory.config",
        "memory.memory_os",
    }
    for path in (ROOT / "cogos").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("memory"):
                assert node.module in allowed, f"{path}: kernel imports {node.module}"


@pytest.mark.parametrize("module", [cogos, memory])
def test_public_api_is_sorted_and_complete(module: object) -> None:
    names = module.__all__  # type: ignore[attr-defined]
    assert names == sorted(names, key=lambda n: (not n.startswith("_") and n[0].islower(), n))
    for name in names:
        assert hasattr(module, name), name


@pytest.mark.parametrize("module", [cogos, memory])
def test_lazy_exports_match_the_public_api(module: object) -> None:
    assert set(module._EXPORTS) == set(module.__all__)  # type: ignore[attr-defined]


def test_the_two_lowest_layers_agree_on_what_an_atom_is() -> None:
    """``memory`` and ``envs`` import nothing of each other (each is usable alone), so each
    names the fact type itself; they must stay one definition in meaning."""
    import envs.base
    import memory.cycle_records

    assert envs.base.Atom == memory.cycle_records.Atom == tuple[str, ...]
