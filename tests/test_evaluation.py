"""The one matcher every bench and test scores contacts with (host/heavylegs/evaluation.py)."""

import numpy as np
import pytest

from heavylegs import evaluation as ev


def test_closest_pairs_win_and_each_event_is_used_once():
    # 1.02 is nearer to 1.0 than 0.95 is; 2.5 has no truth; truth 3.0 has no detection
    m = ev.match_events([0.95, 1.02, 2.5], [1.0, 3.0], tolerance_s=0.1)
    assert m.pairs == [(1, 0)]
    assert m.missed == [1]
    assert m.extra == [0, 2]


def test_a_detection_outside_the_tolerance_is_extra_and_the_truth_missed():
    m = ev.match_events([1.2], [1.0], tolerance_s=0.15)
    assert (m.pairs, m.missed, m.extra) == ([], [0], [0])


def test_a_contact_split_in_two_counts_one_match_one_extra_and_a_gross_stance():
    # truth: contacts of 0.30 s; the second one detected as two halves
    true_ic = [0.0, 1.0, 2.0]
    true_to = [0.3, 1.3, None]
    ics = [0.01, 1.01, 1.12, 2.0]
    tos = [0.31, 1.10, 1.30, 2.3]
    s = ev.score_contacts(
        "x", ics, tos, true_ic, true_to, 0.15, foot_true="left", foot_found="unknown"
    )
    assert (s.matched, s.missed, s.extra) == (3, 0, 1)
    assert s.stance_scored == 2  # the last contact has no true toe-off
    assert s.stance_gross == 1  # the first half lasts 0.09 s against 0.30 s
    summary = ev.summarise([s])
    assert summary["foot_unknown"] == 1 and summary["foot_wrong"] == 0


def test_stance_off_by_more_than_100_ms_is_gross():
    s = ev.score_contacts("x", [0.0, 1.0], [0.12, 1.3], [0.0, 1.0], [0.3, 1.3], 0.15)
    assert s.stance_gross == 1 and s.stance_scored == 2
    assert ev.summarise([s])["stance_gross_pct"] == 50.0


def test_cadence_ignores_stops_between_bouts():
    # 1.0 s strides (120 steps/min) with a 5 s stop in the middle
    ics = [0, 1, 2, 3, 8, 9, 10]
    assert ev.cadence_spm(ics) == 120.0


def test_marks_inside_contacts_match_the_contact_that_holds_them():
    m = ev.match_marks_in_contacts([0.0, 1.0], [0.3, 1.3], [0.2, 0.25, 1.2, 5.0], 0.0)
    assert len(m.pairs) == 2 and m.extra == [] and len(m.missed) == 2


def test_cadence_of_marks_inside_contacts_sees_past_their_grid_and_wander():
    # 0.79 s strides; each mark lands 150-250 ms into its stance (pyshoe's zero-
    # velocity marks wander so), snapped to a 25 ms grid; the last stance before the
    # stop is long and its mark 0.4 s late. The median of single true strides reads
    # 0.800 s (150 steps/min, 1.9 off the true 151.9); over the same strides, pairs
    # apart, the marks give the contacts' cadence.
    rng = np.random.default_rng(5)
    ics = 1.0 + 0.79 * np.arange(25)
    marks = np.round((ics + rng.uniform(0.15, 0.25, len(ics))) / 0.025) * 0.025
    marks[-1] += 0.4
    tos = ics + 0.7
    s = ev.score_marks("x", ics, tos, marks, 0.0)
    assert s.matched == 25
    assert abs(ev.cadence_spm(marks) - 120 / 0.79) > 1.0
    assert s.cadence_found_spm == pytest.approx(120 / 0.79)
    assert s.cadence_err_spm < 0.3


def test_cadence_of_marks_leaves_out_the_strides_of_a_missed_contact_on_both_sides():
    ics = [0.0, 1.0, 2.0, 3.5, 4.0]  # the fourth contact found 0.5 s late, not matched
    marks = [0.2, 1.2, 2.2, 3.2, 4.2]
    s = ev.score_marks("x", ics, [i + 0.3 for i in ics], marks, 0.0)
    assert s.missed == 1 and s.extra == 1
    assert s.cadence_true_spm == s.cadence_found_spm == 120.0


def _bouts_of_marks(rng, bouts, strides):
    """Marks of `bouts` runs of `strides` strides (each its own period), 5 s stops
    between; found contacts wander 20 ms about them. Returns truth, found, pairs."""
    truth, t = [], 0.0
    for k in range(bouts):
        period = 0.7 + 0.01 * (k % 7)
        truth.extend(t + period * np.arange(strides))
        t = truth[-1] + 5.0
    truth = np.array(truth)
    found = truth - 0.2 + rng.normal(0, 0.02, len(truth))
    pairs = [(i, i) for i in range(len(truth)) if i % 13]  # some contacts missed
    return found, truth, pairs


def test_cadence_of_marks_takes_pairs_within_each_bout_only():
    found, truth, pairs = _bouts_of_marks(np.random.default_rng(3), 6, 40)
    # every pair of matched marks of one bout, by hand
    js = [j for _, j in pairs]
    same = [(a, b) for a in js for b in js if a < b]
    bout = np.concatenate([[0], np.cumsum(np.diff(truth) >= ev.MAX_STRIDE_S)])
    same = [(a, b) for a, b in same if bout[a] == bout[b]]
    true_period = np.median([(truth[b] - truth[a]) / (b - a) for a, b in same])
    found_period = np.median([(found[b] - found[a]) / (b - a) for a, b in same])
    assert ev.cadence_same_strides(found, truth, pairs) == pytest.approx(
        (120 / true_period, 120 / found_period), rel=1e-12
    )


def test_cadence_of_marks_of_a_long_recording_keeps_memory_to_its_bouts():
    import tracemalloc

    # 5,000 strides: pairs over all marks would be 12.5M (200 MB of indices)
    found, truth, pairs = _bouts_of_marks(np.random.default_rng(4), 50, 100)
    tracemalloc.start()
    try:
        true_spm, found_spm = ev.cadence_same_strides(found, truth, pairs)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40e6
    assert abs(found_spm - true_spm) < 0.5
