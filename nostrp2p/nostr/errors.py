"""The one error type of the Nostr layer: it says which field is wrong and why."""


class EventError(ValueError):
    """An event (or filter) a server must refuse.

    ``field`` names the offending field (``"sig"``, ``"tags[3][1]"``, ...) so that an API can
    report it to people precisely; ``reason`` says what is wrong with it.
    """

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
