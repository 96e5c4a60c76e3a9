"""The ``kpatch`` console script (and ``python -m kpatch``): the CLI, run as the
short-lived process it is.

Two settings only a whole process may choose, so they live here and not in
``kpatch.cli`` (tests run its commands in process):

- the cyclic garbage collector is off from the first import on. Reference
  counting frees what a command drops; the collector would only re-walk the
  objects that importing click, PyYAML and kpatch creates (``main`` in
  kpatch/cli.py turns it off for the command itself, for the same reason);
- when the command is done, everything still alive is frozen (``gc.freeze``), so
  that interpreter shutdown does not walk it all once more looking for cycles:
  a twentieth of a one-file ``kpatch images`` (bench/startup.py). Shutdown still
  runs atexit handlers, flushes the standard streams and frees modules by
  reference count; the objects left in cycles are reclaimed with the process.
"""

from __future__ import annotations

import gc


def run() -> None:
    gc.disable()
    from kpatch.cli import main

    try:
        main()
    finally:
        gc.freeze()
