"""The gait engine on real foot-IMU recordings (../shared/data), against the open peer.

The bars are gaitmap 2.6's figures on the same 416 Hz counts, re-run by
`bench/accuracy.py --gaitmap` (its venv is not part of the test environment):
issue 14 asks for at least as many contacts matched, no more extra, no larger
share of stances off by more than 100 ms, and no foot side guessed wrong. The
targets not met yet are marked xfail(strict): they fail loudly once met, so the
bar gets raised rather than forgotten. Skipped when the data folder is absent.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from heavylegs import evaluation as ev

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO / "bench"))

pytestmark = pytest.mark.skipif(not DATA.exists(), reason="no ../shared/data here")

# gaitmap 2.6 (HerzerEventDetection), bench/accuracy.py --gaitmap, same scoring
GAITMAP = {
    "voisard_walking": {"matched": 1524, "extra": 50, "stance_gross_pct": 0.79, "ic_sd_ms": 19.18},
    "gaitmap_walking": {"matched": 55, "extra": 0, "stance_gross_pct": 0.0, "ic_sd_ms": 7.86},
    "pyshoe_running": {"matched": 202, "extra": 3},
}


def _summary(name: str) -> dict:
    import accuracy
    import realdata

    loaders = {
        "voisard_walking": realdata.voisard_walking,
        "gaitmap_walking": realdata.gaitmap_walking,
        "pyshoe_running": lambda: [r for r in realdata.pyshoe() if r.boundaries_s],
    }
    recs = loaders[name]()
    if not recs:
        pytest.skip(f"{name} is not in ../shared/data")
    return ev.summarise([accuracy.score_real(r, *accuracy.ours_on(r)) for r in recs])


@pytest.fixture(scope="module")
def figures():
    cache: dict[str, dict] = {}

    def get(name: str) -> dict:
        if name not in cache:
            cache[name] = _summary(name)
        return cache[name]

    return get


@pytest.mark.parametrize("name", ["voisard_walking", "gaitmap_walking"])
def test_walking_contacts_match_at_least_gaitmaps_with_fewer_extra_and_split_stances(figures, name):
    ours, bar = figures(name), GAITMAP[name]
    assert ours["matched"] >= bar["matched"]
    assert ours["extra"] <= bar["extra"]
    assert ours["stance_gross_pct"] <= bar["stance_gross_pct"]


@pytest.mark.parametrize("name", ["voisard_walking", "gaitmap_walking", "pyshoe_running"])
def test_the_foot_side_is_never_wrong(figures, name):
    assert figures(name)["foot_wrong"] == 0


def test_running_has_no_more_extra_contacts_than_gaitmap(figures):
    assert figures("pyshoe_running")["extra"] <= GAITMAP["pyshoe_running"]["extra"]


# 203 of 203 since a swing's yaw counts with its toe-up pitch (pivot steps of a
# turn on the spot; 200 before, the 3 missed all such steps).
def test_running_contacts_match_at_least_gaitmaps(figures):
    assert figures("pyshoe_running")["matched"] >= GAITMAP["pyshoe_running"]["matched"]


# Cadence of the same strides on both sides, as a median of mark pairs apart
# (evaluation.cadence_same_strides): 0.50 steps/min, gaitmap 0.54. The median of
# single strides read 1.02 (gaitmap 1.88), mostly the truth marks' 25 ms grid and
# their wander in the stance, not contact timing.
def test_running_cadence_within_one_step_per_minute(figures):
    assert figures("pyshoe_running")["cadence_err_spm"] < 1.0


# Walking contacts are timed where the toe starts turning down (the heel is on the
# ground), not at the impact's jolt: a soft heel or a 100 Hz source blurs the jolt.
# Before: IC SD 21.0 (voisard) and 10.6 ms (gaitmap mocap).
@pytest.mark.parametrize("name", ["voisard_walking", "gaitmap_walking"])
def test_initial_contact_spread_no_wider_than_gaitmaps(figures, name):
    assert figures(name)["ic_sd_ms"] <= GAITMAP[name]["ic_sd_ms"]


def test_landings_too_soft_to_jolt_or_slap_are_found_at_their_foot_flat():
    # Real walking landings (Voisard, 100 Hz) that neither jolted 0.6 g in a sample
    # nor turned the toe down faster than 150 dps for 30 ms (one slapped at -97 dps,
    # one is a first step at 1.4 g): all five were missed before. The swing, the toe
    # turning down into a rest and the rest at 1 g now make the landing, timed where
    # the toe turned down.
    import accuracy
    import realdata

    landings = {
        "voisard-3-4-rf": 18.17,
        "voisard-3-6-rf": 16.09,
        "voisard-4-1-lf": 21.27,
        "voisard-5-6-rf": 17.00,
        "voisard-6-1-lf": 5.87,
    }
    recs = [r for r in realdata.voisard_walking() if r.name in landings]
    if len(recs) < len(landings):
        pytest.skip("Voisard's walking recordings are not in ../shared/data")
    for rec in recs:
        true_ics, true_tos = rec.contacts()
        k = min(range(len(true_ics)), key=lambda i: abs(true_ics[i] - landings[rec.name]))
        ics, tos, _ = accuracy.ours_on(rec)
        j = min(range(len(ics)), key=lambda i: abs(ics[i] - true_ics[k]))
        assert abs(ics[j] - true_ics[k]) < 0.03, rec.name
        assert abs((tos[j] - ics[j]) - (true_tos[k] - true_ics[k])) < 0.1, rec.name
