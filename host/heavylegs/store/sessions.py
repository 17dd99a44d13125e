"""The Store's record of pod sessions: unreadable gaps, dates, notes, pairing into
runs, and what each pod and sync last reached."""

from __future__ import annotations

from heavylegs.errors import StoreError
from heavylegs.store.models import Gap, PodContact
from heavylegs.store.sqlite import StoreTables

# How good a date is; a later sync may improve a recording's date, never worsen it.
DATE_RANK = {None: 0, "bounds": 1, "pod clock": 2, "exact": 3}


class SessionRecords(StoreTables):
    """Gaps, dates, notes and placement of recordings; pod contact and sync state."""

    def add_gap(self, recording_id: int, first_seq: int, count: int) -> None:
        """Records [first_seq, first_seq + count) of the session could not be read on the pod."""
        if count < 1 or first_seq < 0:
            raise StoreError(f"a gap of {count} records from {first_seq} is no gap")
        with self._writing(f"cannot record a gap in recording {recording_id}") as conn:
            self._require_recording(conn, recording_id)
            # One stretch of damage is one gap, however many pieces the pod declared
            # it in (its window cuts a long one) and however often (a resumed sync).
            first, end = int(first_seq), int(first_seq) + int(count)
            touching = conn.execute(
                "SELECT first_seq, count FROM gaps WHERE recording_id = ? "
                "AND first_seq <= ? AND first_seq + count >= ?",
                (recording_id, end, first),
            ).fetchall()
            for other_first, other_count in touching:
                first = min(first, other_first)
                end = max(end, other_first + other_count)
            conn.execute(
                "DELETE FROM gaps WHERE recording_id = ? AND first_seq <= ? "
                "AND first_seq + count >= ?",
                (recording_id, end, first),
            )
            conn.execute(
                "INSERT INTO gaps (recording_id, first_seq, count) VALUES (?, ?, ?)",
                (recording_id, first, end - first),
            )

    def gaps(self, recording_id: int) -> list[Gap]:
        """The recording's unreadable stretches, with the neighbouring strides' host times."""
        with self._reading(f"cannot read the gaps of recording {recording_id}") as conn:
            rows = conn.execute(
                "SELECT g.first_seq, g.count, b.host_time, a.host_time, b.ic_ms, a.ic_ms "
                "FROM gaps g "
                "LEFT JOIN strides b ON b.recording_id = g.recording_id AND b.seq = "
                "(SELECT MAX(seq) FROM strides s WHERE s.recording_id = g.recording_id "
                "AND s.seq < g.first_seq) "
                "LEFT JOIN strides a ON a.recording_id = g.recording_id AND a.seq = "
                "(SELECT MIN(seq) FROM strides s WHERE s.recording_id = g.recording_id "
                "AND s.seq >= g.first_seq + g.count) "
                "WHERE g.recording_id = ? ORDER BY g.first_seq",
                (recording_id,),
            ).fetchall()
        return [Gap(int(a), int(b), c, d, e, f) for a, b, c, d, e, f in rows]

    def holds_session(self, recording_id: int, count: int) -> bool:
        """Every record [0, count) of the session is stored or known unreadable here."""
        with self._reading(f"cannot read recording {recording_id}") as conn:
            (strides,) = conn.execute(
                "SELECT COUNT(*) FROM strides WHERE recording_id = ? AND seq < ?",
                (recording_id, int(count)),
            ).fetchone()
            (lost,) = conn.execute(
                "SELECT COALESCE(SUM(MIN(first_seq + count, ?1) - first_seq), 0) FROM gaps "
                "WHERE recording_id = ?2 AND first_seq < ?1",
                (int(count), recording_id),
            ).fetchone()
        return int(strides) + int(lost) >= count

    def set_recording_date(
        self,
        recording_id: int,
        quality: str,
        started_at: float,
        started_at_min: float | None,
        started_at_max: float | None,
    ) -> bool:
        """Date a recording and its run, unless it already has a better date; True if set.

        `quality` is 'exact', 'pod clock' or 'bounds' (RecordingInfo.date_quality).
        """
        if quality not in DATE_RANK or quality is None:
            raise ValueError(f"unknown date quality {quality!r}")
        with self._writing(f"cannot date recording {recording_id}") as conn:
            self._require_recording(conn, recording_id)
            (held,) = conn.execute(
                "SELECT date_quality FROM recordings WHERE id = ?", (recording_id,)
            ).fetchone()
            if DATE_RANK[held] > DATE_RANK[quality]:
                return False
            conn.execute(
                "UPDATE recordings SET started_at = ?, started_at_min = ?, started_at_max = ?, "
                "date_quality = ? WHERE id = ?",
                (float(started_at), started_at_min, started_at_max, quality, recording_id),
            )
            return True

    def set_recording_note(
        self, recording_id: int, note: str | None, *, header_damaged: bool = False
    ) -> None:
        with self._writing(f"cannot update recording {recording_id}") as conn:
            self._require_recording(conn, recording_id)
            conn.execute(
                "UPDATE recordings SET note = ?, header_damaged = ? WHERE id = ?",
                (note, int(header_damaged), recording_id),
            )

    def set_recording_ranges(
        self, recording_id: int, acc_fs_g: int | None, gyro_fs_dps: int | None
    ) -> None:
        """The sensor's full scales the recording was made at (None: not known)."""
        with self._writing(f"cannot update recording {recording_id}") as conn:
            self._require_recording(conn, recording_id)
            conn.execute(
                "UPDATE recordings SET acc_fs_g = ?, gyro_fs_dps = ? WHERE id = ?",
                (acc_fs_g, gyro_fs_dps, recording_id),
            )

    def set_run_note(self, run_id: int, note: str | None) -> None:
        with self._writing(f"cannot update run {run_id}") as conn:
            cur = conn.execute("UPDATE runs SET note = ? WHERE id = ?", (note, run_id))
            if cur.rowcount == 0:
                raise StoreError(f"unknown run {run_id}")

    def set_run_start(self, run_id: int, started_at: float) -> None:
        with self._writing(f"cannot update run {run_id}") as conn:
            cur = conn.execute(
                "UPDATE runs SET started_at = ? WHERE id = ?", (float(started_at), run_id)
            )
            if cur.rowcount == 0:
                raise StoreError(f"unknown run {run_id}")

    def move_recording(self, recording_id: int, run_id: int) -> None:
        """Put a recording into another run; a run left with no recording goes."""
        with self._writing(f"cannot move recording {recording_id}") as conn:
            self._require_recording(conn, recording_id)
            if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
                raise StoreError(f"unknown run {run_id}")
            (old,) = conn.execute(
                "SELECT run_id FROM recordings WHERE id = ?", (recording_id,)
            ).fetchone()
            conn.execute("UPDATE recordings SET run_id = ? WHERE id = ?", (run_id, recording_id))
            conn.execute(
                "DELETE FROM runs WHERE id = ? AND NOT EXISTS "
                "(SELECT 1 FROM recordings WHERE run_id = ?)",
                (old, old),
            )

    def pod_contact(self, pod_address: str) -> PodContact | None:
        """When the pod last listed its sessions to this store (sync or pull), and what."""
        with self._reading("cannot read pod contacts") as conn:
            row = conn.execute(
                "SELECT listed_at, journal_epoch, last_session FROM pod_contacts "
                "WHERE pod_address = ?",
                (pod_address,),
            ).fetchone()
        return None if row is None else PodContact(float(row[0]), int(row[1]), int(row[2]))

    def set_pod_listed(
        self, pod_address: str, at: float, *, epoch: int = 0, last_session: int = 0
    ) -> None:
        """The pod listed its journal (epoch, sessions up to last_session) at `at`."""
        with self._writing("cannot record a pod contact") as conn:
            conn.execute(
                "INSERT INTO pod_contacts (pod_address, listed_at, journal_epoch, last_session) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (pod_address) DO UPDATE SET "
                "listed_at = excluded.listed_at, journal_epoch = excluded.journal_epoch, "
                "last_session = excluded.last_session WHERE excluded.listed_at >= listed_at",
                (pod_address, float(at), int(epoch), int(last_session)),
            )

    def find_run_near(
        self, started_at: float, window_s: float, source: str, foot: str
    ) -> int | None:
        """A run of `source` that started within window_s and has no recording of `foot` yet.

        Pods synced after a run have no host run: the second pod of a pair joins the
        first pod's run this way.
        """
        with self._reading("cannot look up runs") as conn:
            row = conn.execute(
                "SELECT id FROM runs WHERE source = ? AND ABS(started_at - ?) <= ? "
                "AND NOT EXISTS (SELECT 1 FROM recordings r WHERE r.run_id = runs.id "
                "AND r.foot = ?) ORDER BY ABS(started_at - ?) LIMIT 1",
                (source, float(started_at), float(window_s), foot, float(started_at)),
            ).fetchone()
        return None if row is None else int(row[0])

    def set_recording_times(
        self,
        recording_id: int,
        *,
        started_at: float | None = None,
        clock_offset_s: float | None = None,
        clock_rate: float | None = None,
    ) -> None:
        """Record a session's start and clock fit; strides get host_time from the fit."""
        with self._writing(f"cannot update recording {recording_id}") as conn:
            self._require_recording(conn, recording_id)
            if started_at is not None:
                conn.execute(
                    "UPDATE recordings SET started_at = ? WHERE id = ?",
                    (float(started_at), recording_id),
                )
            if clock_offset_s is not None and clock_rate is not None:
                conn.execute(
                    "UPDATE recordings SET clock_offset_s = ?, clock_rate = ? WHERE id = ?",
                    (float(clock_offset_s), float(clock_rate), recording_id),
                )
                conn.execute(
                    "UPDATE strides SET host_time = ? + ? * ic_ms / 1000.0 WHERE recording_id = ?",
                    (float(clock_offset_s), float(clock_rate), recording_id),
                )

    def sync_state(self, recording_id: int) -> tuple[int, int] | None:
        """(records this store acknowledged to the pod, records the pod had), if synced before."""
        with self._reading(f"cannot read the sync state of recording {recording_id}") as conn:
            row = conn.execute(
                "SELECT acked, pod_count FROM pod_sync WHERE recording_id = ?", (recording_id,)
            ).fetchone()
        return None if row is None else (int(row[0]), int(row[1]))

    def set_sync_state(self, recording_id: int, acked: int, pod_count: int, at: float) -> None:
        with self._writing(f"cannot record the sync state of recording {recording_id}") as conn:
            self._require_recording(conn, recording_id)
            conn.execute(
                "INSERT INTO pod_sync (recording_id, acked, pod_count, synced_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (recording_id) DO UPDATE SET "
                "acked = MAX(acked, excluded.acked), pod_count = excluded.pod_count, "
                "synced_at = excluded.synced_at",
                (recording_id, int(acked), int(pod_count), float(at)),
            )
