import time
from faults_helpers import *
def test_smoke(rig):
    m = rig.mirror()
    out = rig.command("pump", True)
    assert out["ok"], out
    print(rig.board.journal())
    wait_for(lambda: mirrors_show_board(rig), 5, "conv")
    print(rig.audit(out["id"]))
