"""SQLite writers of one process take turns on a lock of the process.

SQLite's busy handler polls, sleeping up to 100 ms between tries, so under
concurrent writes most of a writer's wait would be sleep while the database
stands idle; a lock hands over the moment the last writer commits. The busy
timeout still arbitrates between processes.
"""

import sqlite3
import threading


def writer_queue(timeout: float) -> type[sqlite3.Connection]:
    """A sqlite3 connection class whose write transactions take turns on one process-wide lock.

    The lock is taken before ``BEGIN IMMEDIATE`` and given back once the transaction has
    committed or rolled back (or the connection closed), never before.
    """
    lock = threading.Lock()

    class WriterQueueConnection(sqlite3.Connection):
        holds_write_turn = False

        def wait_for_write_turn(self) -> None:
            """Past the timeout, go on without a turn: SQLite's own busy timeout then decides."""
            if not self.holds_write_turn:
                self.holds_write_turn = lock.acquire(timeout=timeout)

        def take_free_write_turn(self) -> bool:
            """The turn if no writer of this process holds it, without waiting."""
            if not self.holds_write_turn:
                self.holds_write_turn = lock.acquire(blocking=False)
            return self.holds_write_turn

        def end_write_turn(self) -> None:
            if self.holds_write_turn:
                self.holds_write_turn = False
                lock.release()

        def commit(self) -> None:
            try:
                super().commit()
            finally:
                self.end_write_turn()

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                self.end_write_turn()

        def close(self) -> None:
            try:
                super().close()
            finally:
                self.end_write_turn()

    return WriterQueueConnection
