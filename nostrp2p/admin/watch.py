"""What the admin service remembers between looks at the overlay: since when the server has had
no neighbours, and which bootstrap addresses have ever answered (held a session)."""

from __future__ import annotations


class NetworkWatch:
    def __init__(self, started_at: float):
        self.started_at = started_at
        self.alone_since: float | None = started_at  # None while there are neighbours
        self.bootstrap_answered: set[tuple] = set()

    def sample(self, view, now: float) -> None:
        if view.neighbours():
            self.alone_since = None
        elif self.alone_since is None:
            self.alone_since = now
        bootstrap = {tuple(a) for a in view.bootstrap()}
        if bootstrap - self.bootstrap_answered:
            for contact in view.sessions():
                if contact.address in bootstrap:
                    self.bootstrap_answered.add(contact.address)

    def alone_for(self, now: float) -> float | None:
        """Seconds without neighbours, or None while there are some."""
        return None if self.alone_since is None else max(0.0, now - self.alone_since)
