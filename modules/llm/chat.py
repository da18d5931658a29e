"""Build a LangChain chat model from the config's ``llm:`` section.

One place knows how each provider is constructed, so that modules only ever see a
``BaseChatModel``. Missing packages and missing settings become :class:`ConfigError` s that name
what to install or set, before any episode runs.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterator
from typing import Any

from cogos.config import LLMSpec
from cogos.errors import ConfigError
from modules.llm.client import mark_exclusive


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


def preflight(spec: LLMSpec | None, component: str) -> None:
    """What an LLM component checks when its config loads.

    A model is configured and, when it is a server, it answers.
    """
    check_reachable(require_llm(spec, component))


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


# defaults for an in-process GGUF: 0 means "as the GGUF file says" for llama.cpp. LangChain's
# ChatLlamaCpp would otherwise force n_ctx=512 and rope_freq_base=10000 (Qwen2.5 says 1e6: its
# output breaks), stream (losing the token counts) and print ~1,700 lines of log to stderr.
LLAMACPP_DEFAULTS: dict[str, Any] = {
    "n_ctx": 0,
    "rope_freq_base": 0.0,
    "rope_freq_scale": 0.0,
    "verbose": False,
    "streaming": False,  # its streamed answers carry no token counts
}

# one in-process model per settings: components share it (a GGUF loaded once, one context)
_LLAMA_MODELS: dict[str, Any] = {}


def _llamacpp(spec: LLMSpec) -> Any:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        raise ConfigError(
            "llm.provider 'llamacpp' runs a GGUF file in-process and needs llama-cpp-python: "
            "pip install 'cogos[llama]' (a source build, ~11 minutes on 2 cores)",
            key="llm.provider",
        ) from None
    if not os.path.isfile(spec.model):
        raise ConfigError(f"no GGUF file at {spec.model!r}", key="llm.model")
    key = json.dumps([spec.model, spec.temperature, spec.max_tokens, spec.options], default=str)
    model = _LLAMA_MODELS.get(key)
    if model is not None:
        return model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from langchain_community.chat_models import ChatLlamaCpp
    try:
        model = ChatLlamaCpp(
            model_path=spec.model,
            temperature=spec.temperature,
            max_tokens=spec.max_tokens,
            **{**LLAMACPP_DEFAULTS, **spec.options},
        )
    except Exception as exc:  # pydantic or llama.cpp refusing the options or the file
        raise ConfigError(
            f"cannot load {spec.model} ({type(exc).__name__}: {exc})", key="llm.options"
        ) from None
    mark_exclusive(model)  # one llama context: one call at a time, timeouts included
    _LLAMA_MODELS[key] = model
    return model


_REACHABLE: set[str] = set()


def check_reachable(spec: LLMSpec) -> None:
    """Refuse to start (exit 2) when the model's server is not there, before any episode.

    Otherwise every call of the run would fail and the run would end with nothing learnt.
    Only for servers named by address (``llm.base_url``, and Ollama's default); any HTTP
    answer counts as reachable.
    """
    url = spec.base_url
    if url is None and spec.provider == "ollama":
        url = os.environ.get("OLLAMA_HOST", "http://localhost:11434")
    if url is None or url in _REACHABLE:
        return
    import httpx

    try:
        httpx.get(url.rstrip("/") + "/models", timeout=min(spec.timeout, 5.0))
    except httpx.HTTPError as exc:
        raise ConfigError(
            f"cannot reach the model server at {url} ({type(exc).__name__}: {exc}); start it "
            "(llama.cpp's server, vLLM, Ollama...) or point llm.base_url at it",
            key="llm.base_url" if spec.base_url is not None else "llm.provider",
        ) from None
    _REACHABLE.add(url)


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
        model = _llamacpp(spec)
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
        check_reachable(spec)
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
