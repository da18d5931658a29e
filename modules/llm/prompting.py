"""Prompt templates kept in files (``modules/llm/prompts/<name>.md``).

Each has a system and a user section, filled with ``str.format`` fields: editing a prompt needs
no code change.
"""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def template(name: str) -> tuple[str, str]:
    text = (resources.files("modules.llm.prompts") / f"{name}.md").read_text(encoding="utf-8")
    if "## system" not in text or "## user" not in text:
        raise ValueError(f"prompt {name}.md needs a '## system' and a '## user' section")
    system, user = text.split("## user", 1)
    return system.replace("## system", "", 1).strip(), user.strip()


def render(name: str, **fields: object) -> tuple[str, str]:
    system, user = template(name)
    return system.format(**fields), user.format(**fields)


def section(title: str, lines: list[str]) -> str:
    """An optional prompt section (empty when there is nothing to say)."""
    if not lines:
        return ""
    return f"\n{title}:\n" + "\n".join(f"- {line}" for line in lines) + "\n"
