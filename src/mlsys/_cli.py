"""How the Hydra command lines (``ml-train``, ``ml-serve``) end on bad input.

Bad input (a config or override error, or any :class:`MlsysError`) ends in one line
``error: <key>: ... Fix: ...`` on stderr and exit code 2. ``--verbose`` or
``HYDRA_FULL_ERROR=1`` also prints the traceback above that line; they never change the exit
code or drop the line.

Hydra reports the errors it finds while composing the config itself: it prints them and exits
1 from inside its exception handler, so the error is that exit's ``__context__`` (Python sets it
on an exception raised while another is handled). With ``HYDRA_FULL_ERROR=1`` Hydra re-raises
the error instead. :func:`run` handles both, so the outcome does not depend on the variable.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable

from hydra.errors import CompactHydraException
from omegaconf.errors import OmegaConfBaseException

from mlsys.config import config_error
from mlsys.errors import MlsysError

__all__ = ["bad_input", "fail", "run"]


def bad_input(exc: BaseException | None) -> MlsysError | None:
    """The mlsys error that ``exc`` reports, when it is bad input; ``None`` otherwise."""
    if isinstance(exc, MlsysError):
        return exc
    if isinstance(exc, CompactHydraException | OmegaConfBaseException):
        return config_error(exc)
    return None


def fail(exc: BaseException, *, verbose: bool = False) -> int:
    """Print the ``error:`` line for ``exc`` (the traceback first when asked); return 2."""
    if verbose or os.environ.get("HYDRA_FULL_ERROR") == "1":
        traceback.print_exception(exc)
    print(f"\nerror: {bad_input(exc) or exc}", file=sys.stderr)
    return 2


def run(main: Callable[[], object], *, verbose: bool = False) -> None:
    """Run a ``@hydra.main`` function as a console entry point.

    Args:
        main: The decorated function; it reads ``sys.argv`` as Hydra does.
        verbose: ``--verbose`` was given: print tracebacks of bad-input errors too.
    """
    try:
        main()
    except SystemExit as exc:
        error = exc.__context__ if exc.code == 1 else None
        if error is None or bad_input(error) is None:
            raise
        sys.exit(fail(error, verbose=verbose))
    except Exception as exc:  # HYDRA_FULL_ERROR=1: Hydra re-raised it
        if bad_input(exc) is None:
            raise
        sys.exit(fail(exc, verbose=verbose))
