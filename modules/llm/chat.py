"""Build a LangChain chat model from the config's ``llm:`` section.

One place knows how each provider is constructed, so that modules only ever see a
``BaseChatModel``. Missing packages and missing settings become :class:`ConfigError` s that name
what to install or set, before any episode runs.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from typing import Any

from cogos.config import LLMSpec
from cogos.errors import ConfigError


def require_llm(spec: LLMSpec | None, component: str) -> LLMSpec:
    """The LLM settings, or a config error saying which component needs them and what to set."""
    if spec is None:
        raise ConfigError(
            f"{component} needs a chat model, but the config has no 'llm' section: set "
            "llm.provider and llm.model (e.g. llm.provider=ollama llm.model=llama3.1, or "
            "llm.provider=openai llm.model=<name> llm.base_url=http://localhost:8000/v1)",
            key="llm",
        )
    return spec


def _scripted(responses: list[str]) -> Any:
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    def replies() -> Iterator[AIMessage]:
        for text in responses:
            yield AIMessage(
                content=text,
                usage_metadata={
                    "input_tokens": 0,
                    "output_tokens": len(text.split()),
                    "total_tokens": len(text.split()),
                },
            )

    return GenericFakeChatModel(messages=replies())


def _sqlite_cache(path: str) -> Any:
    with warnings.catch_warnings():  # langchain-community announces its own sunset on import
        warnings.simplefilter("ignore", DeprecationWarning)
        from langchain_community.cache import SQLiteCache
    return SQLiteCache(database_path=path)


def build_chat_model(spec: LLMSpec) -> Any:
    """A LangChain ``BaseChatModel`` for ``spec`` (retries are ours: the model gets none)."""
    try:
        import langchain_core  # noqa: F401
    except ImportError:
        raise ConfigError(
            "LLM components need LangChain: pip install 'cogos[llm]'", key="llm"
        ) from None
    if spec.provider == "scripted":
        model = _scripted(list(spec.responses))
    elif spec.provider == "llamacpp":
        try:
            import llama_cpp  # noqa: F401
        except ImportError:
            raise ConfigError(
                "llm.provider 'llamacpp' runs a GGUF file in-process and needs llama-cpp-python: "
                "pip install 'cogos[llama]' (a source build, ~11 minutes on 2 cores)",
                key="llm.provider",
            ) from None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            from langchain_community.chat_models import ChatLlamaCpp
        model = ChatLlamaCpp(
            model_path=spec.model,
            temperature=spec.temperature,
            max_tokens=spec.max_tokens,
            **spec.options,
        )
    else:
        from langchain.chat_models import init_chat_model

        kwargs: dict[str, Any] = {
            "temperature": spec.temperature,
            "timeout": spec.timeout,
            "max_retries": 0,
            **spec.options,
        }
        if spec.max_tokens is not None:
            kwargs["max_tokens"] = spec.max_tokens
        if spec.base_url is not None:
            kwargs["base_url"] = spec.base_url
        if spec.api_key_env is not None:
            key = os.environ.get(spec.api_key_env)
            if not key:
                raise ConfigError(
                    f"environment variable {spec.api_key_env} (llm.api_key_env) is not set",
                    key="llm.api_key_env",
                )
            kwargs["api_key"] = key
        elif spec.provider == "openai" and not os.environ.get("OPENAI_API_KEY"):
            if spec.base_url is None:
                raise ConfigError(
                    "provider 'openai' without llm.base_url is OpenAI's own API, which needs a "
                    "key: set llm.api_key_env to the name of the environment variable that "
                    "holds it (e.g. OPENAI_API_KEY), or set llm.base_url for a local server",
                    key="llm.api_key_env",
                )
            # a local OpenAI-compatible server (llama.cpp, vLLM, LM Studio) takes no key, but
            # the client refuses to start without one
            kwargs["api_key"] = "unused"
        try:
            model = init_chat_model(spec.model, model_provider=spec.provider, **kwargs)
        except ImportError as exc:
            raise ConfigError(
                f"llm.provider {spec.provider!r} needs its LangChain package ({exc}); "
                "pip install 'cogos[llm]' installs langchain-openai and langchain-ollama",
                key="llm.provider",
            ) from None
        except Exception as exc:  # the providers' clients raise their own types (OpenAIError)
            raise ConfigError(
                f"cannot build the chat model ({type(exc).__name__}: {exc}); check llm.provider, "
                "llm.model, llm.base_url and llm.api_key_env",
                key="llm",
            ) from None
    if spec.cache is not None:
        model.cache = _sqlite_cache(spec.cache)
    return model
