"""What the Python test scripts share: running a command and stopping the test on failure."""
import subprocess
import sys


def run(cmd, ok=True, **kw):
    """Runs cmd (output captured as text); with ok, a non-zero exit prints it and ends the test."""
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if ok and r.returncode != 0:
        print("NOT OK: " + " ".join(cmd) + f" (exit {r.returncode})\n" + r.stdout + r.stderr)
        sys.exit(1)
    return r
