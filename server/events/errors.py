from __future__ import annotations

from server.errors import InvalidState, LimitExceeded, NotFound, ValidationError


class EventNotFound(NotFound):
    message = "No such event."


class AssetNotFound(NotFound):
    message = "No such asset."


class IllegalTransition(InvalidState):
    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"A {current} event cannot become {target}.")


class NotReadyToPublish(InvalidState):
    message = "An event needs at least one occurrence and one ticket type to be published."


class EventNotOver(InvalidState):
    def __init__(self, last_start: str) -> None:
        super().__init__(
            f"The event's last date begins at {last_start}; it can be completed once that date "
            "has begun (cancel it instead to stop it early)."
        )


class EventClosed(InvalidState):
    message = "Completed and cancelled events can no longer be changed."


class InvalidRecurrence(ValidationError):
    pass


class UnsupportedFile(ValidationError):
    pass


class FileTooLarge(LimitExceeded):
    pass
