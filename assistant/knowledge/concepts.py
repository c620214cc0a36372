"""Domain concepts: the many words people use for one idea in this domain.

Ranking matches words, and people rarely use the entry's word: "terminate",
"taskkill" and "kill" all ask to stop a process; "colleague", "teammate"
and "someone else" are all another person. Each concept here is a class of
words (and a few word pairs) that mean one thing for local connections. The
index adds a concept's token wherever one of its words occurs in an entry,
and a query's word also matches the concept's token, so a question and an
entry that say the same thing in different words meet.

Written from the entries' meaning, not from any question set: every word
here occurs in an entry or in a tuning set (tests/test_kb.py checks that),
so no held-out question could have suggested it. A word belongs to a
concept only where it means that concept in this domain nearly always:
"end" (front end), "all" (all interfaces) and "open" (open a page, an open
port, open a port in the firewall) are left out on purpose.
"""

from __future__ import annotations

from collections.abc import Callable

CONCEPT_PREFIX = "@"  # never the start of a word token (see search._TOKEN)

# concept -> its words; a "+" joins words that mean the concept only together
_CONCEPTS: dict[str, str] = {
    # ending a process
    "terminate": "kill killed killing terminate taskkill shut+down stop stopping",
    # what a process is called
    "process": "process processes program pid task daemon",
    # a process has the port
    "occupy": "hold holds holding held taken took busy owner owns owning",
    # every port at once
    "everything": "every list all+ports all+open all+listening all+sockets all+services",
    # someone or something other than this machine
    "elsewhere": "friend colleague coworker teammate someone people others remote outside "
                 "internet other+computer other+machine other+device another+computer "
                 "another+machine another+device other+pc another+pc different+computer "
                 "other+laptop another+laptop",
    "device": "phone tablet ipad iphone device devices",
    "lan": "lan wifi wi+fi local+network same+network",
    # harm and protection
    "security": "safe safety secure security risk dangerous hack hackers attack malware "
                "protected protection malicious",
    "auth": "password authentication token credentials login",
    "production": "production prod live deploy deployment deploying vps",
    # names and addresses
    "resolve": "resolve resolves resolved resolution resolver dns lookup getaddrinfo enotfound "
               "unknown+host",
    "hostsfile": "etc+hosts hosts+file",
    "ephemeral": "ephemeral dynamic random temporary high+port high+ports source+port "
                 "client+port outgoing",
    "choose": "choose choosing pick picking select recommend recommended best default",
    "typo": "typo typed mistyped misspelled wrong",
    "difference": "difference differ diff vs versus compare same equal interchangeable alias",
    "meaning": "meaning mean means explain explained definition",
    # how a connection fails
    "hang": "hang hangs frozen stuck never+returns",
    "timeout": "timeout etimedout timed+out time+out",
    "refused": "refused refuse refuses refusing econnrefused",
    "permission": "permission denied eacces forbidden root sudo admin administrator privileged",
    "crashed": "crashed exited down",
    # tools and places
    "firewall": "firewall ufw iptables nftables nft firewalld pf pfctl defender antivirus",
    "browser": "browser browsers chrome firefox safari",
    "container": "docker container containers compose",
    "tunnel": "tunnel forward forwarding",
    "database": "database db postgres postgresql psql mysql mongodb redis",
    "framework": "flask django rails express vite next react vue node uvicorn jupyter",
    "proxy": "proxy http_proxy https_proxy no_proxy",
    "development": "dev development develop developer developers developing coding",
    "mac": "mac macos macbook",
    "windows": "windows powershell cmd netsh",
    "linux": "linux ubuntu debian fedora",
}


def build(stem_words: Callable[[str], list[str]]) -> tuple[dict[str, tuple[str, ...]],
                                                          dict[tuple[str, str], tuple[str, ...]]]:
    """The concept map as stems: word -> concepts, and word pair -> concepts.

    `stem_words` is the tokenizer (search.words without concepts), so a
    concept's words are stemmed and filtered exactly as text is."""
    single: dict[str, list[str]] = {}
    double: dict[tuple[str, str], list[str]] = {}
    for name, spec in _CONCEPTS.items():
        token = CONCEPT_PREFIX + name
        for item in spec.split():
            stems = [s for part in item.split("+") for s in stem_words(part)]
            if "+" not in item and len(stems) == 1:
                single.setdefault(stems[0], []).append(token)
            elif len(stems) == 2:
                double.setdefault((stems[0], stems[1]), []).append(token)
    return ({k: tuple(dict.fromkeys(v)) for k, v in single.items()},
            {k: tuple(dict.fromkeys(v)) for k, v in double.items()})


def spec() -> str:
    """The concepts as text, for the index cache's fingerprint: a cached
    index carries concept tokens, so editing a concept must rebuild it."""
    return repr(sorted(_CONCEPTS.items()))


def vocabulary() -> set[str]:
    """Every word the concepts name (unstemmed), for the attestation test."""
    return {part for spec in _CONCEPTS.values() for item in spec.split() for part in item.split("+")}
