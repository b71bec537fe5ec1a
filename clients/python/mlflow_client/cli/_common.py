"""What every command group shares: the top-level group that turns errors into one line, and the client.

``ClientGroup`` is the class of ``mlflow-client`` itself: an error raised by any subcommand (a server's
answer, a connection that failed, a bad setting) is printed as one ``Error: ...`` line on stderr, without
credentials, and the exit status is 1. ``mlflow-client --debug ...`` prints the traceback instead (redacted
the same way). click's usage errors keep click's exit status 2, as in ``mlflow``.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from ..client import MlflowClient

__all__ = ["VIEW_OPTION", "ClientGroup", "client", "one_line", "redact_secrets", "view_type"]

# user:password@ (or token@) in a URL: the part between :// and @ never reaches the terminal.
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")

#: ``--view`` of the listings, as MLflow spells it.
VIEW_OPTION = click.option(
    "--view",
    "-v",
    type=click.Choice(["active_only", "deleted_only", "all"], case_sensitive=False),
    default="active_only",
    show_default=True,
    help="Which lifecycle stages to list.",
)


def view_type(view: str) -> int:
    from ..entities import ViewType

    return ViewType.from_string(view.lower())


@contextlib.contextmanager
def client() -> Iterator[MlflowClient]:
    """A client built the usual way: MLFLOW_TRACKING_URI, auth and TLS from the environment."""
    from ..client import MlflowClient

    with MlflowClient() as built:
        yield built


def redact_secrets(text: str) -> str:
    """``text`` without URL credentials, nor the password or token the environment holds."""
    from ..exceptions import redact

    text = _URL_CREDENTIALS.sub(lambda m: m.group("scheme") + "***@", text)
    secrets: list[str | None] = []
    try:
        from .._settings import Settings

        settings = Settings.from_env()
        secrets = [settings.password, settings.token]
    except Exception:  # a bad setting may be the error being reported
        pass
    return redact(text, secrets)


def one_line(err: BaseException) -> str:
    """The error as one line: MLflow's code and message for MLflow errors, the type otherwise."""
    from ..exceptions import MlflowConnectionError, MlflowException, RestException

    if isinstance(err, MlflowConnectionError):
        text = err.message
    elif isinstance(err, MlflowException):
        code = err.error_code
        # A server's code, as MLflow shows it; a local error's only when it says more than INTERNAL_ERROR.
        named = isinstance(err, RestException) or code != "INTERNAL_ERROR"
        text = f"{code}: {err.message}" if named and not err.message.startswith(code) else err.message
    elif isinstance(err, OSError):
        text = str(err)
    else:
        text = f"{type(err).__name__}: {err}"
    return redact_secrets(" ".join(text.split()))


class ClientGroup(click.Group):
    """The top-level group: ``--debug``, and one line per error for every command below it."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as err:  # every other error ends here, as one line
            if ctx.params.get("debug"):
                import traceback

                sys.stderr.write(redact_secrets("".join(traceback.format_exception(err))))
            else:
                click.echo(f"Error: {one_line(err)}", err=True)
            ctx.exit(1)
