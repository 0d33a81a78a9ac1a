"""Why a unicast or a request did not get through: the node layer queues the message for a later
retry on any of these, and logs the reason."""


class UnicastError(Exception):
    """A unicast or request to another server failed."""


class UnknownKey(UnicastError):
    """No server announcing that owner key could be found in the overlay."""


class Unreachable(UnicastError):
    """The server was found (or was known) but could not be reached, directly or through peers."""


class TimedOut(UnicastError):
    """The message went out but was not acknowledged, or the request not answered, in time."""


class RemoteError(UnicastError):
    """The destination received the request but could not answer it."""
