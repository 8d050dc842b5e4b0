"""The one place where domain errors become exit codes and HTTP statuses."""

from __future__ import annotations

from lifecycle import errors as e

# Ordered most specific first; the first isinstance match wins.
ERROR_MAP: tuple[tuple[type[e.InnospaceError], int, int], ...] = (
    (e.StaleTenancy, 5, 412),
    (e.TransitionNotAllowed, 4, 409),
    (e.GuardFailed, 4, 409),
    (e.AlreadyExists, 6, 409),
    (e.Conflict, 4, 409),
    (e.NotFound, 3, 404),
    (e.InvalidRulebook, 2, 422),
    (e.InvalidTemplate, 2, 422),
    (e.InvalidInput, 2, 422),
    (e.ScheduleNotPublished, 7, 422),
    (e.CalendarError, 7, 422),
    (e.IntegrityError, 8, 500),
    (e.SchedulerError, 9, 503),
    (e.TooManyAttempts, 11, 429),
    (e.Unauthorized, 11, 401),
    (e.Forbidden, 12, 403),
    (e.InnospaceError, 1, 500),
)

EXIT_DATABASE_UNAVAILABLE = 10
#: An exception nothing expected (a bug): one line naming it, never a traceback.
EXIT_INTERNAL_ERROR = 1


def exit_code(err: BaseException) -> int:
    for kind, code, _status in ERROR_MAP:
        if isinstance(err, kind):
            return code
    return 1


def http_status(err: BaseException) -> int:
    for kind, _code, status in ERROR_MAP:
        if isinstance(err, kind):
            return status
    return 500
