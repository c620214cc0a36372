"""Running a system tool: fixed argv, no shell, a timeout, C locale.

The only way the assistant starts programs. Callers pass literal argument
lists (a test checks every call site); nothing the user typed and nothing
from a rule file ever reaches here.
"""

from __future__ import annotations

TIMEOUT = 3.0
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def run_command(argv: list[str], timeout: float = TIMEOUT) -> tuple[str | None, str | None]:
    """(stdout, None), or (None, a human reason it could not be read)."""
    import os
    import shutil  # here, not at import: the common path never runs a tool
    import subprocess

    # The system's directories first: an ordinary user's PATH often lacks
    # /usr/sbin, where nft and iptables-save live, though they are installed.
    exe = shutil.which(argv[0], path=os.pathsep.join([SYSTEM_PATH, os.environ.get("PATH", "")]))
    if exe is None:
        return None, f"{argv[0]} is not installed"
    try:
        p = subprocess.run([exe, *argv[1:]], capture_output=True, text=True, timeout=timeout,
                           env={"LC_ALL": "C", "PATH": SYSTEM_PATH})
    except subprocess.TimeoutExpired:
        return None, f"`{' '.join(argv)}` did not answer within {timeout:g} s"
    except OSError as exc:
        return None, f"`{' '.join(argv)}` failed: {exc.strerror}"
    if p.returncode != 0:
        err = (p.stderr or p.stdout).strip().splitlines()
        msg = err[-1] if err else f"exit {p.returncode}"
        if "permission" in msg.lower() or "not permitted" in msg.lower():
            return None, f"not permitted to read the rules ({msg}); run `sudo {' '.join(argv)}`"
        return None, f"`{' '.join(argv)}` failed: {msg}"
    return p.stdout, None
