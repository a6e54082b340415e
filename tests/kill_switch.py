"""Run a fusing tool in a child process that kills itself with SIGKILL
once it has written N outputs (a hard kill, other writes possibly in
flight), to test that a rerun resumes.

The child patches the batch-fusion engine's image writer before running
the tool; nothing in the package knows about it.
"""
import subprocess
import sys

_CHILD = '''
import os, runpy, signal, sys, threading
from msfam_mm.batch_fusion import engine
after, tool = int(sys.argv[1]), sys.argv[2]
write, lock, count = engine.write_image_atomic, threading.Lock(), [0]

def write_then_die(*args, **kwargs):
    write(*args, **kwargs)
    with lock:
        count[0] += 1
        if count[0] >= after:
            os.kill(os.getpid(), signal.SIGKILL)

engine.write_image_atomic = write_then_die
sys.argv = [tool] + sys.argv[3:]
runpy.run_path(tool, run_name='__main__')
'''


def run_killed_after(outputs: int, tool, argv, **kwargs
                     ) -> subprocess.CompletedProcess:
    """``subprocess.run`` of ``python tool *argv``, killed after
    ``outputs`` written outputs; ``kwargs`` go to ``subprocess.run``."""
    return subprocess.run(
        [sys.executable, '-c', _CHILD, str(outputs), str(tool),
         *[str(a) for a in argv]], **kwargs)
