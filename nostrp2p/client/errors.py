"""The one error the command-line tools end with: its message is the line the person reads."""


class ClientError(Exception):
    """Something the person can act on: the server does not answer, a key is malformed."""
