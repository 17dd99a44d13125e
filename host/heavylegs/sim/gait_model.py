"""The gait model's public names, importable from where they always were (see sim/gait/)."""

from heavylegs.sim.gait.assembly import simulate_foot as simulate_foot
from heavylegs.sim.gait.assembly import simulate_run as simulate_run
from heavylegs.sim.gait.mounting import lace_mounting as lace_mounting
from heavylegs.sim.gait.mounting import rotation as rotation
from heavylegs.sim.gait.params import BALL_ON_FOOT as BALL_ON_FOOT
from heavylegs.sim.gait.params import DEG as DEG
from heavylegs.sim.gait.params import FEET as FEET
from heavylegs.sim.gait.params import FOREFOOT_BELOW_DEG as FOREFOOT_BELOW_DEG
from heavylegs.sim.gait.params import REARFOOT_ABOVE_DEG as REARFOOT_ABOVE_DEG
from heavylegs.sim.gait.params import Fatigue as Fatigue
from heavylegs.sim.gait.params import PodParams as PodParams
from heavylegs.sim.gait.params import RunParams as RunParams
from heavylegs.sim.gait.params import Segment as Segment
from heavylegs.sim.gait.params import Stop as Stop
from heavylegs.sim.gait.params import Turn as Turn
from heavylegs.sim.gait.params import strike_class as strike_class
from heavylegs.sim.gait.stride_plan import Contact as Contact
from heavylegs.sim.gait.stride_plan import Plan as Plan
from heavylegs.sim.gait.stride_plan import plan_run as plan_run
