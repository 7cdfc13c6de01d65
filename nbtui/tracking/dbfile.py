"""The database file itself: errors in words, damage judged by SQLite, keeping a file aside.

Split from `store.py` (the reads and writes; `schema.py` has the tables) because these rules
are about the file on disk and the other processes that share it:

- Damage is judged by SQLite alone (it opens the file, reads the WAL, runs `quick_check`),
  never from file sizes: while another process commits or checkpoints, the file grows in
  steps and its header can claim pages that are not written yet. A verdict is asked again
  a few times before it counts, so a file in motion is never called damaged.
- Every open store holds a shared `flock` on `tasks.db.lock`; a damaged file is set aside
  only under the exclusive lock, so never while another nbtui process has it open.
- Setting aside writes a notice first (`tasks.db.notice`); the CLI and the app report it on
  every start until the app has shown it, so a crash right after the rename cannot hide it.
- SQLite's errors become `StoreError`s naming the file and the cause: "disk full", "locked
  by another nbtui process" and "read-only file system" are told apart from damage.
"""

from __future__ import annotations

import errno
import fcntl
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DB_NAME",
    "LOCK_SUFFIX",
    "NOTICE_SUFFIX",
    "OpenLock",
    "Prepare",
    "Recovery",
    "StoreBusyError",
    "StoreCorruptError",
    "StoreError",
    "StoreFullError",
    "acknowledge_notice",
    "connect",
    "corrupt",
    "ensure_file",
    "is_corruption",
    "judged_connect",
    "keep_aside",
    "make_private_dir",
    "pending_notice",
    "preflight",
    "scan_connection",
    "translated",
]

DB_NAME = "tasks.db"
#: Beside the database: every open store holds a shared lock on it.
LOCK_SUFFIX = ".lock"
#: Beside the database: what was set aside, until the app has shown it.
NOTICE_SUFFIX = ".notice"
_SQLITE_MAGIC = b"SQLite format 3\x00"


class StoreError(Exception):
    """The task database cannot be used; the message names the file and the cause."""

    def __init__(self, message: str, *, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


class StoreBusyError(StoreError):
    """Another process held the write lock longer than the busy timeout: try again later."""


class StoreFullError(StoreError):
    """The disk (or the quota) holding the database is full: nothing was written."""


class StoreCorruptError(StoreError):
    """The task database is damaged. `moved_to` says where the bad file was kept, if moved."""

    def __init__(
        self, message: str, *, path: Path, reason: str, moved_to: Path | None = None
    ) -> None:
        super().__init__(message, path=path)
        self.reason = reason
        self.moved_to = moved_to


@dataclass(frozen=True, slots=True)
class Recovery:
    """A damaged database that `Store.open(..., recover=True)` kept aside before starting anew."""

    path: Path
    moved_to: Path
    reason: str

    @property
    def message(self) -> str:
        return (
            f"The task database {self.path} was damaged ({self.reason}); it was kept as "
            f"{self.moved_to} and a new, empty one was started."
        )


# -- errors in words ----------------------------------------------------------------------


def corrupt(path: Path, reason: str) -> StoreCorruptError:
    return StoreCorruptError(
        f"The task database {path} is damaged ({reason}). It was left untouched. Start the "
        f"app (`nbtui`) to keep it aside as {path.name}.corrupt-<time> and begin a new, "
        "empty one, or move it away yourself.",
        path=path,
        reason=reason,
    )


def is_corruption(exc: sqlite3.Error) -> bool:
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name == "SQLITE_NOTADB" or name.startswith("SQLITE_CORRUPT"):
        return True
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


def _read_only(path: Path) -> bool:
    """Whether the file system holding `path` (or its directory) is mounted read-only."""
    for place in (path, path.parent):
        with suppress(OSError):
            return bool(os.statvfs(place).f_flag & os.ST_RDONLY)
    return False


def _out_of_space(path: Path) -> bool:
    with suppress(OSError):
        stats = os.statvfs(path.parent)
        return stats.f_bavail == 0 or stats.f_favail == 0
    return False


def read_only_error(path: Path, exc: BaseException | None = None) -> StoreError:
    detail = f" ({exc})" if exc is not None else ""
    return StoreError(
        f"The task database {path} cannot be written: its folder is on a read-only file "
        f"system{detail}. Remount it read-write, or point NBTUI_DATA_DIR at a writable folder.",
        path=path,
    )


def full_error(path: Path) -> StoreFullError:
    return StoreFullError(
        f"The disk holding the task database {path} is full (disk full): nothing was written. "
        "Free some space and try again; everything stored before is still there.",
        path=path,
    )


def busy_error(path: Path) -> StoreBusyError:
    return StoreBusyError(
        f"The task database {path} stayed locked by another nbtui process; try again.",
        path=path,
    )


def os_error(path: Path, what: str, exc: OSError) -> StoreError:
    """An OSError about one of the database's files, with the cause named."""
    if exc.errno == errno.ENOSPC or exc.errno == errno.EDQUOT:
        return full_error(path)
    if exc.errno == errno.EROFS:
        return read_only_error(path)
    return StoreError(f"{what}: {exc.strerror or exc}.", path=path)


@contextmanager
def translated(path: Path) -> Iterator[None]:
    """SQLite errors as StoreError (or its kinds: busy, full, corrupt) naming the file."""
    try:
        yield
    except sqlite3.Error as exc:
        raise translate(path, exc) from exc


def translate(path: Path, exc: sqlite3.Error) -> StoreError:
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name == "SQLITE_FULL" or "database or disk is full" in str(exc):
        return full_error(path)
    if is_corruption(exc):
        return corrupt(path, "not an SQLite database" if name == "SQLITE_NOTADB" else str(exc))
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return busy_error(path)
    if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_IOERR")):
        if _read_only(path):
            return read_only_error(path, exc)
        if name.startswith("SQLITE_IOERR") and _out_of_space(path):
            return full_error(path)
    return StoreError(f"The task database {path} cannot be used: {exc}.", path=path)


# -- the file and its folder --------------------------------------------------------------


def make_private_dir(data_dir: Path) -> None:
    """The data dir holds the user's prompts and image links: readable by the user only."""
    existed = data_dir.is_dir()
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not existed:
            data_dir.chmod(0o700)
    except OSError as exc:
        raise os_error(data_dir, f"Cannot create the data directory {data_dir}", exc) from exc


def preflight(path: Path) -> None:
    """What SQLite would report vaguely: a directory in the file's place, an unreadable file,
    a read-only file system. Nothing here judges damage: that is SQLite's job."""
    if not os.path.lexists(path):
        if _read_only(path.parent):
            raise read_only_error(path)
        return
    if path.is_dir():
        raise StoreError(
            f"Cannot open the task database {path}: it is a directory, not a file.", path=path
        )
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise StoreError(
            f"Cannot read the task database {path}: {exc.strerror or exc}.", path=path
        ) from exc
    if _read_only(path):
        raise read_only_error(path)


def ensure_file(path: Path) -> None:
    """Create the database file readable by the user only (SQLite gives its -wal/-shm the
    same mode)."""
    if os.path.lexists(path):
        return
    try:
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process created it a moment ago
    except OSError as exc:
        raise os_error(path, f"Cannot create the task database {path}", exc) from exc
    os.close(fd)


def truncation(path: Path) -> str | None:
    """Once SQLite has called a file damaged: "the file is truncated: X of Y bytes" when its
    header claims more pages than the file holds and no WAL could hold them. Never a verdict
    on its own (a checkpoint in progress looks the same)."""
    wal = path.with_name(path.name + "-wal")
    try:
        if os.path.exists(wal) and os.path.getsize(wal) > 0:
            return None
        with path.open("rb") as handle:
            header = handle.read(100)
            size = os.fstat(handle.fileno()).st_size
    except OSError:
        return None
    if len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
        return None
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    if header[24:28] == header[92:96] and size < pages * page_size:
        return f"the file is truncated: {size} of {pages * page_size} bytes"
    return None


# -- connections --------------------------------------------------------------------------

#: What a newly opened connection runs before use (the schema's migrations, in `store.py`).
Prepare = Callable[[sqlite3.Connection, Path], None]

#: How many times SQLite is asked before a file counts as damaged, and the pause before each
#: new question: a verdict that changes between questions came from a file in motion.
_JUDGE_PAUSES = (0.05, 0.15, 0.4)


def judged_connect(path: Path, busy_timeout: float, prepare: Prepare) -> sqlite3.Connection:
    """`connect`, with a damage verdict asked again (a file another process is writing can
    look damaged to one read and be fine the next)."""
    for pause in _JUDGE_PAUSES:
        try:
            return connect(path, busy_timeout, prepare)
        except StoreCorruptError:
            time.sleep(pause)
    try:
        return connect(path, busy_timeout, prepare)
    except StoreCorruptError as exc:
        detail = truncation(path)
        if detail is None:
            raise
        raise corrupt(path, f"{exc.reason}; {detail}") from exc


def _check(path: Path, busy_timeout: float) -> None:
    """SQLite's own verdict, before anything writes: `quick_check` walks every b-tree page
    (through the WAL, in one read transaction), so a truncated or scribbled file fails here
    rather than in the middle of a refresh. The connection is read-only: closing it never
    checkpoints into, or deletes the WAL of, a file that may be damaged."""
    uri = Path(os.path.abspath(path)).as_uri() + "?mode=ro"
    judge = sqlite3.connect(uri, uri=True, timeout=busy_timeout, isolation_level=None)
    try:
        problems = [problem for (problem,) in judge.execute("PRAGMA quick_check(3)")]
    finally:
        judge.close()
    if problems != ["ok"]:
        raise corrupt(path, "; ".join(str(p) for p in problems))


def connect(path: Path, busy_timeout: float, prepare: Prepare) -> sqlite3.Connection:
    """The store's connection: the file created if missing, judged by SQLite, in WAL mode,
    then `prepare`d; any SQLite error comes out as a `StoreError` naming the file."""
    ensure_file(path)
    with translated(path):
        _check(path, busy_timeout)
        conn = sqlite3.connect(
            path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            # WAL + FULL: the WAL is synced at every commit, so what a write returned (and
            # `nbtui add` reported) survives a crash, a power cut or a checkpoint that a
            # full disk stopped half-way (the WAL keeps every page until one completes).
            conn.execute("PRAGMA synchronous = FULL")
            # Some builds (Debian's) zero every freed page, so untracking 50,000 tasks
            # wrote the whole 80 MB file again; FAST zeroes deleted rows in the pages a
            # write touches anyway, and leaves emptied pages as they are (SQLite's own
            # default keeps everything: the file is private to the user in any case).
            conn.execute("PRAGMA secure_delete = FAST")
            prepare(conn, path)
        except BaseException:
            conn.close()
            raise
    return conn


def scan_connection(path: Path, busy_timeout: float) -> sqlite3.Connection:
    """A read-only connection for whole-list scans (call inside `translated`)."""
    scan = sqlite3.connect(
        path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
    )
    scan.execute("PRAGMA query_only = 1")
    # Scans read each page once: a small page cache (the default is 2 MB).
    scan.execute("PRAGMA cache_size = -256")
    return scan


# -- who has it open ----------------------------------------------------------------------


class OpenLock:
    """A shared `flock` on `tasks.db.lock`, held for as long as a store is open.

    SQLite cannot say whether another process has the database open; this can. Setting a
    damaged file aside takes the lock exclusively (without waiting), so it never happens
    under another nbtui that still reads and writes the file.
    """

    def __init__(self, fd: int, path: Path) -> None:
        self._fd: int | None = fd
        self.path = path

    @classmethod
    def shared(cls, db_path: Path, timeout: float) -> OpenLock:
        """Take the shared lock (waiting up to `timeout` for a set-aside in progress)."""
        lock_path = db_path.with_name(db_path.name + LOCK_SUFFIX)
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise os_error(db_path, f"Cannot create the lock file {lock_path}", exc) from exc
        lock = cls(fd, lock_path)
        deadline = time.monotonic() + timeout
        while not lock._try(fcntl.LOCK_SH):
            if time.monotonic() >= deadline:
                lock.release()
                raise busy_error(db_path)
            time.sleep(0.02)
        return lock

    def _try(self, mode: int) -> bool:
        assert self._fd is not None
        try:
            fcntl.flock(self._fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def try_exclusive(self) -> bool:
        """The exclusive lock if no other store has the file open; else keep the shared one.

        (Linux drops the shared lock before trying, so it is taken again on failure.)
        """
        if self._try(fcntl.LOCK_EX):
            return True
        assert self._fd is not None
        fcntl.flock(self._fd, fcntl.LOCK_SH)
        return False

    def share(self) -> None:
        """Back from exclusive to shared (others may open the file again)."""
        assert self._fd is not None
        fcntl.flock(self._fd, fcntl.LOCK_SH)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with suppress(OSError):
                os.close(fd)


# -- setting a damaged file aside ---------------------------------------------------------


def _notice_path(path: Path) -> Path:
    return path.with_name(path.name + NOTICE_SUFFIX)


def pending_notice(path: Path) -> str | None:
    """What a set-aside left to tell the user (None: nothing)."""
    try:
        text = _notice_path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text or None


def acknowledge_notice(path: Path) -> None:
    """The user has been shown the notice: stop repeating it."""
    with suppress(OSError):
        _notice_path(path).unlink()


def _write_durably(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _fsync_dir(folder: Path) -> None:
    with suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def keep_aside(path: Path, now: float, reason: str) -> Recovery:
    """Rename a damaged database (and its -wal/-shm) to `tasks.db.corrupt-<time>`.

    The caller holds the exclusive `OpenLock`. The notice is written (and synced) first: if
    it cannot be written, nothing is moved; if the process dies after the rename, the next
    start still says what happened.
    """
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    counter = 1
    while os.path.lexists(target):
        counter += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{counter}")
    recovery = Recovery(path=path, moved_to=target, reason=reason)
    notice = _notice_path(path)
    earlier = pending_notice(path)
    try:
        _write_durably(notice, (earlier + "\n" if earlier else "") + recovery.message)
    except OSError as exc:
        with suppress(OSError):
            notice.with_name(notice.name + ".tmp").unlink()
        error = os_error(path, "", exc)
        cause = "disk full" if isinstance(error, StoreFullError) else (exc.strerror or str(exc))
        raise StoreError(
            f"The task database {path} is damaged ({reason}) and was left in place: nbtui "
            f"could not record that it sets it aside ({cause}). Free some space or move it "
            "away by hand.",
            path=path,
        ) from exc
    try:
        os.replace(path, target)
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            if os.path.lexists(side):
                os.replace(side, target.with_name(target.name + suffix))
    except OSError as exc:
        if not os.path.lexists(target):
            # Nothing moved: the notice would tell of something that did not happen.
            if earlier:
                with suppress(OSError):
                    _write_durably(notice, earlier)
            else:
                acknowledge_notice(path)
        raise StoreError(
            f"The task database {path} is damaged and could not be moved aside to "
            f"{target}: {exc.strerror or exc}. Move it away by hand.",
            path=path,
        ) from exc
    _fsync_dir(path.parent)
    return recovery
