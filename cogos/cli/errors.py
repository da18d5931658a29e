"""How the CLI reports expected failures: one line on stderr and an exit code, no traceback."""

from __future__ import annotations

import click

from cogos.errors import CogOSError, ConfigError, DaemonRefused

EXIT_RUNTIME = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C


class CLIError(click.ClickException):
    """A failure the user can fix; click prints ``error: ...`` and exits with ``exit_code``."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click reads it per instance

    def format_message(self) -> str:
        return self.message

    def show(self, file: object = None) -> None:
        click.secho(f"error: {self.format_message()}", err=True, fg="red")


def to_cli_error(exc: CogOSError) -> CLIError:
    """Config problems exit 2 (like usage errors); failures while running exit 1.

    A daemon refused by its broker or finding its name taken exits 2 too: running it again as it
    is cannot succeed.
    """
    usage = isinstance(exc, ConfigError | DaemonRefused)
    return CLIError(str(exc), EXIT_USAGE if usage else EXIT_RUNTIME)
