"""The one exception type users see: every bad input ends in an `MLPLMError` with a message fit to show as is."""


class MLPLMError(ValueError):
    """Bad input the user can fix (data, config, checkpoint). The message names the problem in one line."""


class DataError(MLPLMError):
    """A names file or string that cannot be used."""


class ConfigError(MLPLMError):
    """A model or training setting outside what is supported."""


class CheckpointError(MLPLMError):
    """A file that is not a valid checkpoint, or one that does not fit."""
