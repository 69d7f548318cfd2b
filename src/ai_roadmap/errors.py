"""User-facing errors: one line, a fix, a non-zero exit, no traceback."""

from __future__ import annotations


class RoadmapError(Exception):
    """An error caused by the user's input or environment, shown as one line.

    ``exit_code`` follows the CLI convention: 2 for a usage error (bad id, bad
    override), 1 for an environment problem (missing data, broken file).
    """

    exit_code: int = 1

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(RoadmapError):
    """Wrong id, wrong kind of item, bad override: exit code 2."""

    exit_code = 2


class DataMissingError(RoadmapError):
    """A dataset is not on this machine; the message names the pull command."""


class IntegrityError(RoadmapError):
    """A file's sha256 does not match the one recorded for it."""


class DataFormatError(RoadmapError):
    """A data file the user gave is not in the format its loader reads."""
