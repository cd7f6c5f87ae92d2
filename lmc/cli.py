"""What every command line of the project shares: one-line errors, exit statuses, logging.

    def main(argv: list[str] | None = None): ...   # raises on failure, returns a result

    if __name__ == "__main__":
        cli.run(main, prog="lmc.data")

`run` calls `main(argv)` with `--debug` taken out of argv. An expected failure prints one line on
stderr, `<prog>: <message>`, and exits with a status:

    2    bad input: an LmcError or another ValueError (a flag, a config file, a refused
         checkpoint, a broken frame), or an OSError (a missing, unreadable or unwritable file)
    1    the run itself failed: TrainingStopped (a non-finite loss), out of memory
    130  interrupted (Ctrl-C)

Anything else is a bug and ends in its traceback. With `--debug` the traceback of an expected
failure is printed too, and log records from DEBUG.

Logging, for the duration of the command: one handler on stderr, lmc's own records from INFO,
everyone else's from WARNING, each as `message` (INFO) or `warning: message`. Python warnings
(`warnings.warn`, the library's and third parties') go through the same handler, without the
`file.py:119: UserWarning` source line Python would print.

`ArgumentParser` raises ConfigError for a bad flag instead of printing the usage and exiting, so
that flag errors are one line too, and callers in Python can catch them.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import NoReturn, TypeVar

from lmc.allocator import keep_freed_memory
from lmc.errors import ConfigError, TrainingStopped

DEBUG_FLAG = "--debug"
T = TypeVar("T")


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with errors raised as ConfigError (one line, catchable) instead of printed."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{message} (see {self.prog} --help)")


class _Stderr(logging.Handler):
    """Writes to whatever sys.stderr is at the time, so that a caller's redirect still works."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # logging must never end the command
            self.handleError(record)


class _Format(logging.Formatter):
    def __init__(self, debug: bool) -> None:
        super().__init__()
        self.debug = debug

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.levelno >= logging.WARNING:
            text = f"{record.levelname.lower()}: {text}"
        if self.debug:
            text = f"[{record.name}] {text}"
        if record.exc_info and self.debug:
            text += "\n" + self.formatException(record.exc_info)
        return text


def _show_warning(debug, message, category, filename, lineno, file=None, line=None) -> None:
    text = str(message)
    if debug:
        text += f" ({category.__name__}, {filename}:{lineno})"
    logging.getLogger("py.warnings").warning("%s", text)


@contextlib.contextmanager
def command_logging(debug: bool = False) -> Iterator[None]:
    """The logging configuration of a command line, undone on exit (callers in Python, such as
    the `lmc` command or a test, keep theirs)."""
    root, ours = logging.getLogger(), logging.getLogger("lmc")
    saved = (root.level, ours.level, warnings.showwarning)
    handler = _Stderr()
    handler.setFormatter(_Format(debug))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.WARNING)
    ours.setLevel(logging.DEBUG if debug else logging.INFO)
    warnings.showwarning = functools.partial(_show_warning, debug)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        ours.setLevel(saved[1])
        warnings.showwarning = saved[2]


def one_line(text: str) -> str:
    """A message on one line: its non-blank lines joined by '; '."""
    return "; ".join(line.strip() for line in str(text).splitlines() if line.strip())


def _fail(prog: str, message: str, status: int, debug: bool) -> NoReturn:
    if debug:
        traceback.print_exc(file=sys.stderr)
    print(f"{prog}: {one_line(message)}", file=sys.stderr, flush=True)
    raise SystemExit(status) from None


def run(main: Callable[[list[str]], T], argv: Sequence[str] | None = None, *, prog: str) -> T:
    """`main(argv)` (default sys.argv[1:]) under the command lines' logging, with `--debug`
    taken out of argv; its result, or SystemExit with the status above after one line. A
    command line is a process of its own, so it keeps freed memory in glibc's heap
    (`lmc.allocator`), which `import lmc` leaves alone."""
    keep_freed_memory()
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = DEBUG_FLAG in argv
    argv = [arg for arg in argv if arg != DEBUG_FLAG]
    with command_logging(debug):
        try:
            return main(argv)
        except KeyboardInterrupt:
            _fail(prog, "interrupted", 130, debug)
        except TrainingStopped as err:
            _fail(prog, f"training stopped: {err}", 1, debug)
        except MemoryError as err:
            _fail(prog, f"out of memory: {str(err) or type(err).__name__}", 1, debug)
        except (ValueError, OSError) as err:
            _fail(prog, str(err) or type(err).__name__, 2, debug)
        except RuntimeError as err:
            if type(err).__name__ != "OutOfMemoryError":  # torch's, for CUDA and other devices
                raise
            _fail(prog, f"out of memory: {err}", 1, debug)
