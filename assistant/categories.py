"""The stable diagnosis vocabulary: a contract (README "Diagnosis categories");
meanings never change, categories may only be added."""

CATEGORIES = {
    "reachable": "something accepted the connection: the problem is above TCP",
    "nothing-listening": "no socket listens on that port on any address",
    "port-typo": "nothing on the asked port, but a listener on a near-miss port",
    "host-typo": "the host is a misspelling of a local name or address",
    "address-family-mismatch": "the listener is on the other IP family than the one dialled",
    "wrong-bind-address": "the listener is bound to a different address than the one dialled",
    "firewall": "a packet filter drops or rejects connections to the port",
    "port-conflict": "binding failed because another process holds the port",
    "process-stopped": "the owning process is stopped, zombie or not accepting",
    "privileged-port": "binding below the unprivileged port start without privileges",
    "proxy": "proxy variables would send the client's traffic through a proxy",
    "name-resolution": "the host name does not resolve",
    "remote-loopback": "a loopback address is being reached from another machine",
    "protocol-mismatch": "the connection is accepted, but client and server speak different "
                         "protocols (TLS to a plain port, plain HTTP to TLS, HTTP to a database)",
    "socket-permission": "a UNIX socket exists and is served, but this user may not connect to it",
    "client-blocked-port": "the client itself refuses the port (a browser's unsafe-port list)",
    "loopback-interface": "the loopback interface is down, or lacks 127.0.0.1 or ::1",
    "exposed": "a server meant for this machine listens on every interface: other machines "
               "on the network can reach it",
    "client-ports-exhausted": "the client could not get a local port: the ephemeral range to "
                              "that destination is used up (open connections or TIME_WAIT)",
    "tls-certificate": "the connection and TLS work, but the client refuses the server's "
                       "certificate (another name, expired, or an authority it does not trust)",
}

SEVERITIES = ("problem", "warning", "info")
