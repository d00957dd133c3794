from __future__ import annotations

from server.errors import Conflict, InvalidState, NotFound, ValidationError


class OrganizationNotFound(NotFound):
    message = "No such organization."


class SlugTaken(Conflict):
    message = "This slug is already in use."


class InvalidSlug(ValidationError):
    message = (
        "Slugs are 1-64 lowercase letters, digits and hyphens, "
        "not starting or ending with a hyphen."
    )


class UserNotFound(NotFound):
    message = "No account uses this email; ask them to register first."


class MemberNotFound(NotFound):
    message = "This person is not a member of the organization."


class AlreadyMember(Conflict):
    message = "This person is already a member."


class LastOwner(InvalidState):
    message = "An organization must keep at least one owner."
