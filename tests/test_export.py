"""Exports: CSV and Parquet tables, and the export command (FIT content: test_fit_export.py)."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from pathlib import Path

import pytest
from garmin_fit_sdk import Decoder, Stream
from typer.testing import CliRunner

from heavylegs.analysis.session import session_from_strides
from heavylegs.cli import app
from heavylegs.export import to_csv, to_parquet
from heavylegs.sim.strides import generate, scenario, store_run
from heavylegs.store import Store, Stride

T0 = 1_700_000_000.0


def decode(data: bytes) -> dict:
    decoder = Decoder(Stream.from_byte_array(bytearray(data)))
    assert decoder.is_fit()
    decoder = Decoder(Stream.from_byte_array(bytearray(data)))
    assert decoder.check_integrity(), "header or file CRC rejected"
    messages, errors = Decoder(Stream.from_byte_array(bytearray(data))).read()
    assert errors == []
    return messages


def _without_length(s: Stride) -> Stride:
    return replace(s, stride_len_m=None)


def test_csv_holds_every_stride_with_unknowns_empty() -> None:
    strides = generate(scenario("steady", minutes=3, speed_known=True))
    strides["left"][5] = _without_length(strides["left"][5])
    session = session_from_strides(strides, run_id=7)
    rows = list(csv.DictReader(io.StringIO(to_csv(session).decode())))
    assert len(rows) == sum(len(v) for v in strides.values())
    times = [float(r["t_min"]) for r in rows]
    assert times == sorted(times)
    by_foot = [r for r in rows if r["foot"] == "left"]
    assert [float(r["gct_ms"]) for r in by_foot] == [s.gct_ms for s in strides["left"]]
    assert by_foot[5]["stride_len_m"] == ""
    assert float(by_foot[6]["stride_len_m"]) == strides["left"][6].stride_len_m
    assert {r["run_id"] for r in rows} == {"7"}
    assert {r["running"] for r in rows} == {"1"}


def test_parquet_round_trip() -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    strides = generate(scenario("steady", minutes=3, speed_known=True))
    strides["right"][3] = _without_length(strides["right"][3])
    session = session_from_strides(strides, run_id=3)
    table = pq.read_table(io.BytesIO(to_parquet(session)))
    assert table.num_rows == sum(len(v) for v in strides.values())
    data = table.to_pydict()
    right = [i for i, foot in enumerate(data["foot"]) if foot == "right"]
    assert [data["gct_ms"][i] for i in right] == [s.gct_ms for s in strides["right"]]
    assert data["stride_len_m"][right[3]] is None
    assert data["stride_len_m"][right[4]] == strides["right"][4].stride_len_m
    assert table.schema.field("running").type == "bool"


def test_export_command_writes_each_format(tmp_path: Path) -> None:
    db = tmp_path / "heavylegs.db"
    with Store(db) as store:
        run_id = store_run(store, scenario("steady", minutes=4, speed_known=True), started_at=T0)
    runner = CliRunner()
    for fmt in ("fit", "csv", "parquet"):
        result = runner.invoke(app, ["export", "--db", str(db), "--format", fmt])
        assert result.exit_code == 0, result.output
        path = Path(result.output.strip().splitlines()[-1])
        assert path == (tmp_path / "exports" / f"run-{run_id}.{fmt}").resolve()
        assert path.stat().st_size > 1000
    decode((tmp_path / "exports" / f"run-{run_id}.fit").read_bytes())


def test_export_command_errors_are_clear(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["export", "--db", str(tmp_path / "none.db")])
    assert missing.exit_code == 2 and "no store" in missing.output
    db = tmp_path / "heavylegs.db"
    with Store(db) as store:
        run_id = store.start_run("empty", "live", T0)
    empty = runner.invoke(app, ["export", str(run_id), "--db", str(db)])
    assert empty.exit_code == 2 and "no strides" in empty.output
    unknown = runner.invoke(app, ["export", "99", "--db", str(db)])
    assert unknown.exit_code == 2 and "unknown run 99" in unknown.output
    bad = runner.invoke(app, ["export", "--db", str(db), "--format", "gpx"])
    assert bad.exit_code == 2
    assert not (tmp_path / "exports").exists()


def test_export_out_without_format_writes_what_its_name_says(tmp_path: Path) -> None:
    db = tmp_path / "heavylegs.db"
    with Store(db) as store:
        store_run(store, scenario("steady", minutes=4, speed_known=True), started_at=T0)
    runner = CliRunner()
    for name in ("run.csv", "RUN.PARQUET", "run.fit", "run.data"):
        result = runner.invoke(app, ["export", "--db", str(db), "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    assert (tmp_path / "run.csv").read_bytes().startswith(b"run_id,foot,pod,")
    assert (tmp_path / "RUN.PARQUET").read_bytes()[:4] == b"PAR1"
    decode((tmp_path / "run.fit").read_bytes())
    decode((tmp_path / "run.data").read_bytes())  # a name that says nothing: FIT
