"""The simulated runner: a running and walking foot, from which a shoe-mounted IMU's signals follow.

Two stages. `plan_run` lays out every foot contact of a run: the step sequence
of both feet together (so left and right stay in anti-phase), with speed,
cadence, contact time and strike angle following the course (pace changes,
hills, walking breaks, stops, turns), fatigue drift, left/right asymmetry and
stride-to-stride variability. It is cheap and is the ground truth.

`simulate_run` turns the plan into each pod's signals. The foot is a rigid body
with the heel and the ball of the foot as pivots. Its orientation is three
angles built from smooth pulses of angular rate (closed form, so rates and
angular accelerations are exact): pitch relative to the ground (the slap from
the strike angle to foot-flat, heel rise and push-off, swing, and a small
toe-down return before contact), roll (pronation in stance, re-supination at
push-off) and yaw (toe-out, a small rotation in swing, turns). On hills the
ground itself is pitched. In stance the sensor's acceleration is that of a point
on a body rotating about a pivot (fixed, then rolling over the toes at
push-off); in swing its path is a quintic that joins the stance motions with
continuous position, velocity and acceleration (vertically two, through a
late-swing high point). At initial contact the contact point's remaining
velocity is removed over a few milliseconds (the impact transient; sharper and
larger for a rearfoot strike) and the shoe and pod ring briefly. Gravity and
all of it are rotated into the pod's mounting, then the sensor adds gain
error, bias and noise; quantisation and clipping are left to the chip emulator.

Where toe-off sits: the foot leaves the ground a little after the push-off
minimum of pitch angular velocity (`to_lag_ms`, 7 ms running, 5 ms walking by
default). docs/simulation.md gives the evidence and what it means for detectors.
"""
