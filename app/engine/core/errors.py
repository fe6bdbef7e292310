"""Errors the engine raises at its boundaries; each message names the offending thing."""


class BackdropError(Exception):
    """A problem a user can act on; str() is one line naming the file or device and the reason."""


class InputError(BackdropError):
    """An input (file, folder, camera, model) cannot be used."""


class OutputError(BackdropError):
    """An output path cannot be written."""


class SettingsError(BackdropError, ValueError):
    """A setting or command-line value is out of range or malformed."""
