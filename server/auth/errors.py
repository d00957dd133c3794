from __future__ import annotations

from server.errors import Conflict, DomainError, ErrorCode, ValidationError


class InvalidCredentials(DomainError):
    code = ErrorCode.INVALID_CREDENTIALS
    message = "The email or password is incorrect."


class EmailTaken(Conflict):
    message = "An account with this email already exists."


class LookAlikeEmail(Conflict):
    message = (
        "An account with an email that looks the same (in letters of another script) "
        "already exists."
    )


class InvalidEmail(ValidationError):
    message = "Enter a valid email address."


class MixedScriptEmail(ValidationError):
    message = (
        "This address mixes letters of different scripts that look alike (such as Latin and "
        "Cyrillic); enter it as your mail provider spells it."
    )


class WeakPassword(ValidationError):
    message = "Passwords need at least 8 characters (and at most 72 bytes)."


class InvalidRefreshToken(DomainError):
    code = ErrorCode.INVALID_CREDENTIALS
    message = "The session has ended; sign in again."
