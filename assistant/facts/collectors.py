"""Every check, in one explicit list: the single source for what rules may
gather (`check:` steps), which fact types and fields exist, the findings'
lines and the trace lines. Adding a check is one module here plus its line
below (see CONTRIBUTING.md, "Adding a fact collector").

Each module's top level only declares; what is slow (psutil, subprocess,
the firewall walkers) is imported inside `collect`, so listing every
collector costs `--ask` almost nothing.
"""

from __future__ import annotations

from assistant.facts import (
    appfw,
    environment,
    firewall,
    hostcheck,
    hosts_file,
    listeners,
    near,
    ports,
    probe,
    protocol,
    proxy,
    resolution,
    services,
    socket_states,
    unix_sockets,
)
from assistant.facts.base import Collector

COLLECTORS: tuple[Collector, ...] = (
    listeners.COLLECTOR,
    near.COLLECTOR,
    probe.COLLECTOR,
    resolution.COLLECTOR,
    hosts_file.COLLECTOR,
    proxy.COLLECTOR,
    ports.COLLECTOR,
    hostcheck.COLLECTOR,
    services.COLLECTOR,
    firewall.COLLECTOR,
    environment.COLLECTOR,
    appfw.COLLECTOR,
    socket_states.COLLECTOR,
    protocol.COLLECTOR,
    unix_sockets.COLLECTOR,
)

BY_NAME: dict[str, Collector] = {c.name: c for c in COLLECTORS}
