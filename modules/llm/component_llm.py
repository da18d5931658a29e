"""The chat model of one LLM component (a module or a policy) across its episodes.

``llm.goal``, the ``llm`` policy and ``learning.reflect`` each own a model client and use it by
the same rules, written here once so that they cannot drift apart:

* the client is built from the run's ``llm:`` section (a config without one is a config error
  naming the component), publishes its calls on the bus under the component's name and makes
  spans with the run's tracer;
* at an episode's start the task is remembered and the lessons stored for it are recalled, once
  (lessons are only written at episode ends, so one recall serves the whole episode);
* at an episode's end what the component's calls cost is added to the episode summary
  (``extra["llm"]``, summed over the components) and the count starts again;
* when the model cannot be used, ``llm.on_failure`` decides: ``stop`` ends the run with the
  model's error, ``fallback`` counts a fallback and the component carries on without the model.
"""

from __future__ import annotations

from cogos.context import ComponentContext
from cogos.episode import EpisodeStart, EpisodeSummary
from modules.llm.chat import build_chat_model, require_llm
from modules.llm.client import LLMClient, LLMError, Usage
from modules.llm.lessons import recall_lessons
from modules.llm.usage import add_usage


class ComponentLLM:
    """A component's model client, with its episode's task, lessons and usage accounting."""

    def __init__(self, ctx: ComponentContext, component: str) -> None:
        """``component`` names the component in errors (``"policy 'llm'"``)."""
        spec = require_llm(ctx.llm, component)
        self.client = LLMClient(
            spec, build_chat_model(spec), bus=ctx.bus, source=ctx.name, tracer=ctx.tracer
        )
        self._memory = ctx.memory
        self.task = ""
        self.lessons: list[str] = []

    async def begin_episode(self, episode: EpisodeStart, lessons: int) -> None:
        """Take the episode's task and recall up to ``lessons`` lessons for it."""
        self.task = episode.goal_text
        self.lessons = await recall_lessons(self._memory, self.task, lessons)

    def end_episode(self, summary: EpisodeSummary) -> None:
        """Add this episode's usage to ``summary`` and start counting again."""
        add_usage(summary.extra, self.client.usage)
        self.client.usage = Usage()

    def fall_back(self, error: LLMError) -> None:
        """Carry on without the model after ``error``, or stop the run with it.

        Call it where an :class:`LLMError` is caught: with ``llm.on_failure: stop`` it raises
        ``error`` again; otherwise it counts a fallback and returns, and the caller does without.
        """
        if self.client.spec.on_failure == "stop":
            raise error
        self.client.usage.fallbacks += 1
