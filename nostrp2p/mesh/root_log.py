"""The root's log of its own posts, kept across restarts: a file beside the overlay key, so that
followers back from downtime can pull what they missed from a root that restarted meanwhile
(docs/PROTOCOL.md "Gaps and catch-up"), and so that a restarted root keeps its epoch and
sequence (followers' positions stay valid, and no sequence is used twice).

The file is a MessagePack header ``["nostrp2p root log", 1, epoch, last_seq]`` followed by one
record ``[seq, payload, proof]`` per post, appended, flushed and fsynced before the post is sent:
so a post costs one small append, and a crash of the process or of the machine loses no post
that went out (a torn last record is one that never did). When the file holds more than twice
what the root keeps (CHANNEL_CATCH_UP_MAX posts within CHANNEL_LOGS_BYTES), and at the first
post after a start, it is rewritten from the log as it stands, atomically (a temporary file
replaces it, and the directory is fsynced too). A missing file means a new numbering (an info
line); an unreadable one too, with a warning, never a failed start: followers take a restarted
root's new numbering by its larger epoch.
"""

from __future__ import annotations

import os
from typing import Callable, NamedTuple

import msgpack

from nostrp2p.mesh import limits, xeddsa

MAGIC = "nostrp2p root log"
VERSION = 1
_INT_MAX = 2 ** 63 - 1


class Kept(NamedTuple):
    """What a root log file held: its numbering and its posts [(seq, payload, proof)], oldest
    first; ``problem``: why the file was not used (None: it was, or there was none)."""
    epoch: int
    last_seq: int
    posts: list
    problem: str | None = None


def load(path: str) -> Kept:
    """The posts the file holds (the last CHANNEL_CATCH_UP_MAX within CHANNEL_LOGS_BYTES)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(limits.ROOT_LOG_FILE_BYTES + 1)
    except FileNotFoundError:
        return Kept(0, 0, [])
    except OSError as e:
        return Kept(0, 0, [], f"unreadable ({e.strerror})")
    if len(data) > limits.ROOT_LOG_FILE_BYTES:
        return Kept(0, 0, [], f"larger than {limits.ROOT_LOG_FILE_BYTES} bytes")
    unpacker = msgpack.Unpacker(raw=False, max_buffer_size=len(data) or 1)
    unpacker.feed(data)
    try:
        header = next(unpacker)
        if not (isinstance(header, list) and len(header) == 4 and header[:2] == [MAGIC, VERSION]
                and all(type(v) is int and 0 <= v <= _INT_MAX for v in header[2:]) and header[2]):
            return Kept(0, 0, [], "not a root log of this version")
        _, _, epoch, last_seq = header
        posts = []
        for record in unpacker:
            if not _is_record(record, posts[-1][0] if posts else 0):
                return Kept(0, 0, [], "damaged")
            posts.append(tuple(record))
            if len(posts) > 2 * limits.CHANNEL_CATCH_UP_MAX:
                del posts[:limits.CHANNEL_CATCH_UP_MAX]
    except StopIteration:
        return Kept(0, 0, [], "empty")  # not even a header: a write cut short at the very start
    except (ValueError, msgpack.UnpackException) as e:
        return Kept(0, 0, [], f"damaged ({e})")
    # (An incomplete last record, a write cut short, ends the iteration quietly: that post was
    # never sent, since it is written before it goes out.)
    posts = posts[-limits.CHANNEL_CATCH_UP_MAX:]
    size = sum(len(p[1]) for p in posts)
    while posts and size > limits.CHANNEL_LOGS_BYTES:
        size -= len(posts.pop(0)[1])
    return Kept(epoch, max(last_seq, posts[-1][0] if posts else 0), posts)


def _is_record(record, after: int) -> bool:
    """Whether ``record`` is a post numbered after ``after`` (sequences only grow)."""
    return isinstance(record, list) and len(record) == 3 and type(record[0]) is int and \
        after < record[0] <= _INT_MAX and isinstance(record[1], bytes) and \
        len(record[1]) <= limits.MAX_CHANNEL_PAYLOAD and isinstance(record[2], bytes) and \
        len(record[2]) == xeddsa.SIGNATURE_SIZE


class RootLog:
    """The file as the root's channel writes it: one append per post (``kept``)."""

    def __init__(self, path: str, warn: Callable[[str], None] = lambda line: None):
        self.path = path
        self.warn = warn  # one line for a person, when the file cannot be written
        self._handle = None
        self._records = 0  # records in the file since it was last written whole
        self._bytes = 0
        self._failing = False

    def kept(self, epoch: int, seq: int, payload: bytes, proof: bytes,
             held: Callable[[], list]) -> None:
        """Post ``seq`` of ``epoch`` was numbered: on disk before it is sent. ``held()``: the
        posts the root holds, [(seq, payload, proof)] oldest first, to write the file anew."""
        try:
            if self._handle is None or self._records > 2 * limits.CHANNEL_CATCH_UP_MAX or \
                    self._bytes > 2 * limits.CHANNEL_LOGS_BYTES:
                self._rewrite(epoch, seq, held())
            else:
                record = msgpack.packb([seq, payload, proof], use_bin_type=True)
                self._handle.write(record)
                self._handle.flush()
                os.fsync(self._handle.fileno())
                self._records += 1
                self._bytes += len(record)
        except OSError as e:
            self.close()
            if not self._failing:
                self.warn(f"could not keep the channel's posts in {self.path} ({e.strerror}): "
                          "after a restart, followers can pull only the posts made since")
            self._failing = True
            return
        self._failing = False

    def _rewrite(self, epoch, last_seq, posts):
        self.close()
        temporary = self.path + ".new"
        with open(temporary, "wb") as handle:
            handle.write(msgpack.packb([MAGIC, VERSION, epoch, last_seq], use_bin_type=True))
            size = 0
            for post in posts:
                size += handle.write(msgpack.packb(list(post), use_bin_type=True))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
        directory = os.open(os.path.dirname(self.path) or ".", os.O_RDONLY)
        try:
            os.fsync(directory)  # the new file's name is on disk too, not only its contents
        finally:
            os.close(directory)
        self._handle = open(self.path, "ab")
        self._records, self._bytes = len(posts), size

    def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            try:
                handle.close()
            except OSError:
                pass


def attach(channels, path: str, info: Callable[[str], None], warn: Callable[[str], None]) -> None:
    """Give ``channels`` (channels.Channels, not started yet) what the file at ``path`` kept,
    and the file to keep its own posts in from now on."""
    kept = load(path)
    if kept.problem is not None:
        warn(f"the channel's log in {path} is {kept.problem}: not used; this server's posts are "
             "numbered anew, and followers can pull only those made from now on")
    elif kept.epoch:
        info(f"the channel's log kept {len(kept.posts)} posts (numbering {kept.epoch}, last "
             f"{kept.last_seq}) in {path}")
    else:
        info(f"no channel log in {path} yet: this server's posts are numbered anew")
    channels.restore(kept.epoch, kept.last_seq, kept.posts)
    channels.root_log = RootLog(path, warn)
