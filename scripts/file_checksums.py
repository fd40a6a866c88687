"""SHA-256 checksums of files: the loader's manifest keys on them, the export's manifest lists them.

A refresh used to hash every landing file again to find the new ones (the 1M benchmark's
4.3 GB landing: 3.7 s of each refresh, for 4 new files). `ChecksumCache` remembers each
file's checksum under its device and inode, with its size and modification and change times
in nanoseconds (what git's index and rsync compare), and hashes again whenever any of them
differs. Keyed by inode, a hard link or a renamed file is known under its new name. Writing
to a file, replacing it (a new inode) or even touching it changes its change time, which no
program can set back. A file whose change time is not well before the moment it was hashed
is not remembered, so a write in the same clock tick as the hash cannot go unseen.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

#: A file changed less than this long before it was hashed is hashed again next time (some
#: file systems keep times in whole seconds, FAT in two).
RECENT_CHANGE_SECONDS = 3.0
_BLOCK = 1 << 20


def sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def _identity_and_status(path: Path) -> tuple[str, list[int]]:
    st = path.stat()
    return f"{st.st_dev}:{st.st_ino}", [st.st_size, st.st_mtime_ns, st.st_ctime_ns]


class ChecksumCache:
    """Checksums of files remembered by file status, in a JSON file (`path`; None: nothing is
    remembered). The file is only a cache: deleting it costs one hash of every file."""

    def __init__(self, path: Path | None):
        self.path = path
        self.entries: dict[str, dict] = {}
        if path is not None and path.exists():
            try:
                self.entries = json.loads(path.read_text(encoding="utf-8"))["files"]
            except (ValueError, KeyError, TypeError) as exc:
                print(f"note: checksum cache {path} is unreadable ({exc}); every file is hashed")

    def checksums(self, paths: Iterable[Path], workers: int | None = None) -> dict[Path, str]:
        """{path: SHA-256} of every path; files not remembered are hashed `workers` at a time
        (hashlib lets go of the GIL while it hashes)."""
        paths = list(paths)
        found: dict[Path, str] = {}
        kept: dict[str, dict] = {}
        to_hash = []
        for path in paths:
            identity, status = _identity_and_status(path)
            entry = self.entries.get(identity)
            if entry is not None and entry.get("status") == status:
                found[path] = entry["sha256"]
                kept[identity] = entry
            else:
                to_hash.append(path)
        workers = workers or min(4, os.cpu_count() or 1)
        with ThreadPoolExecutor(max(1, workers)) as pool:
            for path, (digest, remembered) in zip(
                to_hash, pool.map(self._hash, to_hash), strict=True
            ):
                found[path] = digest
                kept.update(remembered)
        # Files no longer asked about are forgotten, so the cache stays the size of the landing.
        self.entries = kept
        return {path: found[path] for path in paths}

    @staticmethod
    def _hash(path: Path) -> tuple[str, dict[str, dict]]:
        """The file's checksum, and the entry to remember it by (none when it changed recently
        or while it was read)."""
        started_ns = time.time_ns()
        identity, before = _identity_and_status(path)
        digest = sha256_of_file(path)
        settled = before[2] < started_ns - int(RECENT_CHANGE_SECONDS * 1e9)
        if settled and _identity_and_status(path) == (identity, before):
            return digest, {identity: {"status": before, "sha256": digest}}
        return digest, {}

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + f".{os.getpid()}.partial")
        partial.write_text(json.dumps({"files": self.entries}), encoding="utf-8")
        os.replace(partial, self.path)
