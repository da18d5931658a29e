"""Every error CogOS raises on purpose, under one root.

Catch :class:`CogOSError` to handle anything the runtime reports; catch a subclass for one kind.
Where a builtin exception means the same thing, the subclass inherits it too, so callers that
only know Python (``except LookupError``) keep working. The kernel's errors are defined here;
the others live beside the code that raises them (the module is named)::

    CogOSError
    ├── MemoryOSError                       see memory.errors (and memory.snapshot's
    │                                       SnapshotUnavailable)
    ├── ConfigError (ValueError)            bad YAML, wrong type, unknown key; carries file/key/line
    ├── ComponentNotFound (LookupError)     a module/policy/env name that is not registered
    ├── RegistryError                       a broken entry point, a duplicate registration, or a
    │                                       component class that breaks the component protocol
    ├── LifecycleError (RuntimeError)       start twice, use after close, ...
    ├── FactError (ValueError)              cogos.facts: an atom that does not fit what is read
    ├── BusError
    │   ├── BusClosedError                  publish on a bus that is not running
    │   ├── BusOverflowError                a full queue under the ``error`` overflow policy
    │   ├── RequestTimeout (TimeoutError)   no reply to ``Bus.request`` in time
    │   ├── NoResponderError                cogos.bus: a request on a topic nobody handles
    │   └── RemoteHandlerError              cogos.bus: the handler of a request raised
    ├── CycleError                          a phase produced something the cycle cannot use
    │   └── NoActionError                   nothing proposed an action for the percept
    ├── EnvError (RuntimeError)             an environment could not start or reset
    ├── DaemonRefused                       the daemon must not serve: its name is taken, or the
    │                                       broker refuses its credentials or TLS (CLI: exit 2)
    ├── CommandError                        cogos.daemon.protocol: a command the daemon cannot
    │                                       carry out; its ``kind`` becomes the error reply's type
    ├── Unanswerable                        cogos.daemon.protocol: a reply topic the daemon must
    │                                       not publish to (the request is dropped and counted)
    ├── VerifyError                         cogos.replay: a trace that cannot be verified
    ├── TraceFormatError (ValueError)       cogos.inspector.runs: a trace line that is not JSON
    ├── InspectPathError                    cogos.inspector.workspace: nothing to show at a path
    ├── NoFrames                            cogos.inspector.frames: a run without pictures
    ├── MemoryHeldError                     cogos.inspector.memory_view: memory open elsewhere
    ├── LLMError                            modules.llm.client: the model gave nothing usable
    │   ├── LLMOutputError                  answers that could not be parsed or used
    │   └── LLMCallError                    the model could not be reached or refused; subclasses
    │                                       for timeouts (TimeoutError), connections
    │                                       (ConnectionError), rate limits, 5xx and 4xx
    ├── DomainError (ValueError)            modules.planning.domain: a PDDL domain not usable
    └── PDDLInputError (ValueError)         modules.planning.pddl_errors: PDDL text, with where

Outside the root on purpose: ``RunTimeoutError`` (cogos.experiments.execute) is a
``BaseException``, like ``KeyboardInterrupt``, so that no ``except Exception`` (nor ``except
CogOSError``) inside a run can swallow an experiment's time limit; the command lines' exits
(``CLIError``, ``MemoryCLIError``, ``PlanCLIError``) are click exceptions, raised only at the
edge from one of the errors above; the environments' own errors (``envs``) cannot import the root
(``envs`` imports nothing of the other packages) and derive from ``ValueError``.

The root itself is defined in :mod:`memory.errors` (the lowest layer, so the memory OS can derive
from it without importing upward) and re-exported here; the memory OS's errors hang under
``MemoryOSError`` there. Errors carry structured fields (not only a message) so that the CLI, the
daemon and tests can act on them without parsing strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from memory.errors import CogOSError, MemoryOSError
from memory.suggestions import did_you_mean

__all__ = [
    "BusClosedError",
    "BusError",
    "BusOverflowError",
    "CogOSError",
    "ComponentNotFound",
    "ConfigError",
    "CycleError",
    "DaemonRefused",
    "EnvError",
    "LifecycleError",
    "MemoryOSError",
    "NoActionError",
    "RegistryError",
    "RequestTimeout",
]


class ConfigError(CogOSError, ValueError):
    """A configuration that cannot be used; says where (file, line, key) and what was expected."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        key: str | None = None,
        line: int | None = None,
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.key = key
        self.line = line
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "")
        if self.key:
            where = f"{where}: {self.key}" if where else self.key
        return f"{where}: {self.message}" if where else self.message


class ComponentNotFound(CogOSError, LookupError):
    """No component of this kind is registered under this name."""

    def __init__(self, kind: str, name: str, known: Sequence[str], suggestions: Sequence[str]):
        self.kind = kind
        self.name = name
        self.known = tuple(known)
        self.suggestions = tuple(suggestions)
        listing = ", ".join(sorted(known)) or "none"
        super().__init__(
            f"unknown {kind} {name!r}{did_you_mean(suggestions)} (registered: {listing})"
        )


class RegistryError(CogOSError):
    """A registration that cannot be honoured, or a component class that breaks the protocol.

    A bad entry point or a duplicate name; a phase declared but not implemented, or options of
    another model than the component declares.
    """


class LifecycleError(CogOSError, RuntimeError):
    """An operation that the object's current state does not allow."""


class BusError(CogOSError):
    """Base for message-bus errors."""


class BusClosedError(BusError):
    """The bus is not running (not started yet, or closed)."""


class BusOverflowError(BusError):
    """A subscriber's queue is full and its overflow policy is ``error``."""

    def __init__(self, subscriber: str, topic: str, maxsize: int) -> None:
        self.subscriber = subscriber
        self.topic = topic
        self.maxsize = maxsize
        super().__init__(
            f"queue of subscriber {subscriber!r} is full ({maxsize} messages) "
            f"while publishing on {topic!r}"
        )


class RequestTimeout(BusError, TimeoutError):
    """``Bus.request`` got no reply within its timeout."""

    def __init__(self, topic: str, timeout: float) -> None:
        self.topic = topic
        self.timeout = timeout
        super().__init__(f"no reply on {topic!r} within {timeout:g} s")


class CycleError(CogOSError):
    """A phase of the decision cycle returned something the cycle cannot use."""


class NoActionError(CycleError):
    """Nothing to do: no component proposed an action for this situation.

    For an environment of the agent's own that is a dead end of the policy; for an observation
    sent from outside it usually means the observation lacks what the policy acts on (the
    daemon answers it ``invalid``).
    """


class EnvError(CogOSError, RuntimeError):
    """An environment could not start or reset (a simulator missing, an unknown scene)."""


class DaemonRefused(CogOSError):
    """``cogos daemon`` cannot serve as configured, and retrying would not help.

    ``reason`` is ``name_taken`` (another live daemon holds the daemon's or an agent's name),
    ``auth`` (the broker refuses the credentials or the client id) or ``tls`` (the TLS handshake
    fails, e.g. the broker's certificate is not signed by ``broker.tls.ca_certs``); ``key`` is
    the setting to check. The CLI reports it in one line and exits 2, like a configuration error.
    """

    def __init__(self, message: str, *, reason: str, key: str | None = None) -> None:
        self.reason = reason
        self.key = key
        super().__init__(message)
