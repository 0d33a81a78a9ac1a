"""The node layer: what the first NostrP2P called the message manager.

- ``node.py``: :class:`~.node.Node` (the REST API's ``published``/``wanted``, the overlay's
  handlers, "share your events" asked of the neighbours on start and on
  :meth:`~.node.Node.overlay_ready`) and
  :class:`~.node.NodeSettings`.
- ``delivery.py``: where each kind the owner publishes goes (the API refuses what it refuses).
- ``intake.py``: what is believed of events from other servers (budgets, date, copies,
  signature, author cap) before they are stored.
- ``fetcher.py``: posts, profiles and follow lists fetched from their authors' servers.
- ``resender.py``: unicasts retried at 5 min x 2^n from the store's persistent queue.
- ``messages.py``: the payloads between nodes; ``overlay.py``: what the node needs of the
  overlay; ``tasks.py``, ``ratelimit.py``, ``backoff.py``: bounded work, budgets, backoff.
- ``limits.py``: every bound of the layer.
"""
