"""Load and render prompt templates kept as YAML files under `prompts/`.

Each file has `version`, and any of `system`, `user`, `zh`, `en` (Jinja2 strings), plus
optional `examples`. Rendering uses StrictUndefined, so a missing variable is an error.
This module does not choose which prompt to use; callers do.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, StrictUndefined
from pydantic import BaseModel, ConfigDict

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
_ENV = Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


class Prompt(BaseModel):
    """One prompt file. Unknown keys are rejected so typos surface at load time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    description: str = ""
    system: str | None = None
    user: str | None = None
    zh: str | None = None
    en: str | None = None
    examples: list[dict[str, Any]] = []

    def render(self, part: str, **variables: Any) -> str:
        """Render one part (`system`, `user`, `zh` or `en`) with strict variables."""
        template = getattr(self, part, None)
        if template is None:
            raise KeyError(f"prompt has no part {part!r}")
        return _compiled(template).render(**variables).strip()


@lru_cache(maxsize=256)
def _compiled(template: str):
    """Compiling a template costs milliseconds; rendering a compiled one, microseconds."""
    return _ENV.from_string(template)


@lru_cache(maxsize=64)
def load_prompt(name: str, prompts_dir: Path = PROMPTS_DIR) -> Prompt:
    """Read `prompts/<name>.yaml` into a validated Prompt."""
    path = Path(prompts_dir) / f"{name}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Prompt.model_validate(data)
