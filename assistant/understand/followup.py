"""Follow-ups in plain words: what a chat message says about the conversation
so far ("try again", "what's using that port?", "kill it").

Pure: text in, an intent out, or None for a new problem or question. The
phrases are whole messages (a little politeness around them allowed), so
"how do I find which app uses a port?" stays a knowledge-base question
while "what's using that port?" asks about the port just diagnosed.
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

Kind = Literal["again", "works", "still", "who", "process", "os", "stop", "watch", "all-os",
               "fix", "yes", "no", "thanks", "hello"]


class FollowUp(NamedTuple):
    kind: Kind
    os: str | None = None  # for "os": linux | macos | windows


_POLITE_HEAD = r"(?:(?:ok(?:ay)?|so|and|well|now|hmm+|please|pls|can you|could you|would you|" \
               r"let'?s|lets|go ahead and|just)[,\s]+)*"
_POLITE_TAIL = r"(?:[,\s]+(?:please|pls|now|then|thanks|thank you|for me|again))*\s*[.!?]*"
_IT = r"(?:it|that|this|the (?:server|app|process|service|program|thing|port|connection))"
_PORT_REF = r"(?:that|this|the|my|our) port|it|there|port \d{1,5}"

_PATTERNS: list[tuple[Kind, str]] = [
    ("again", r"(?:try|check|test|run|do) (?:it |that |this )?(?:again|once more|one more time)|"
              r"again|retry|re-?run|re-?check|re-?test|one more time|once more|"
              r"(?:run|check) (?:it|that) again"),
    ("works", r"(?:it|that|this|the server|the app)(?:'s| is)? (?:works?|working|fixed|up|"
              r"running|solved)(?: now)?|(?:it |that )?works now|working now|fixed(?: it)?|"
              r"that (?:fixed|did) it|(?:i )?(?:started|restarted|launched|fixed) (?:it|the "
              r"server|the app|the service)|(?:the )?server is (?:up|running)(?: now)?|"
              r"solved|all good"),
    ("still", r"(?:it(?:'s| is)? |that(?:'s| is)? )?still (?:failing|fails|broken|not working|"
              r"doesn'?t work|refused|refusing|down|the same|times? out|timing out|hangs?|"
              r"hanging|an issue|a problem)|same (?:error|problem|thing|result)|"
              r"(?:it |that )?(?:didn'?t|did not|doesn'?t|does not) (?:help|work|fix it)|"
              r"no luck|nope|not fixed|still nothing"),
    ("who", r"(?:what|who)(?:'s| is| are)? (?:using|holding|on|listening on|bound to|sitting "
            rf"on|occupying|behind|has|owns) (?:{_PORT_REF})|"
            rf"(?:what|who)(?:'s| is) (?:(?:listening|running)(?: there| on it)?|there)|who has it|"
            rf"what(?:'s| is) (?:on|using) it|which (?:app|program|process) (?:is )?"
            rf"(?:using|holding|on|has) (?:{_PORT_REF})|(?:what|who) (?:uses|holds|has) "
            rf"(?:{_PORT_REF})"),
    ("process", r"(?:show|tell|give)(?: me)? (?:about |more about )?(?:the|that|this) "
                r"(?:process|pid|program)(?: details)?|(?:the )?process details|"
                r"(?:which|what) process(?: is (?:it|that))?|more about (?:it|the process)|"
                r"details(?: on| about)? (?:the )?process"),
    ("stop", rf"(?:kill|stop|terminate|end|shut down|shutdown) {_IT}|kill (?:the )?pid|"
             r"kill (?:the |that )?process(?: on (?:that|the) port)?|free (?:up )?(?:the|that) "
             r"port|kill|make it stop"),
    ("watch", r"watch(?: it| that| the port)?|keep (?:checking|watching|trying)|"
              r"(?:tell|let) me (?:know )?when (?:it|that|the server)(?:'s| is)? "
              r"(?:works?|up|back|running|fixed)|wait (?:until|till|for) (?:it|the server)"
              r"(?:'s| is)? (?:works?|up|running|fixed)"),
    # The last diagnosis's fix, asked in words (field trial 8: "how do I make
    # it run again?" after "the process is stopped" got a KB entry on killing).
    ("fix", rf"how (?:do|can|should|would) (?:i|we) (?:fix|solve|resolve|resume|restart|"
            rf"continue|unfreeze|unstop|wake) {_IT}|"
            rf"how (?:do|can|should|would) (?:i|we) (?:make|get) {_IT} (?:to )?(?:run|work|"
            r"running|working|going|back|up)(?: again)?|"
            r"what (?:should|do|can|must) (?:i|we) do(?: (?:now|next|about it|then))?|"
            r"what now|(?:and |so )?(?:the )?fix\??|how to fix(?: it| that| this)?"),
    ("all-os", r"(?:show )?(?:all|every|other) (?:os(?:es)?|systems|platforms)|"
               r"(?:the )?commands for (?:all|every|other) (?:os(?:es)?|systems|platforms)"),
    ("thanks", r"thanks?(?: you)?(?: so much| a lot)?|thx|ty|cheers|great,? thanks|perfect|"
               r"awesome|cool|nice|great"),
    ("hello", r"hi|hello|hey|hey there|good (?:morning|afternoon|evening)|yo"),
    ("yes", r"y|yes|yep|yeah|sure|do it|go ahead|ok|okay|confirm|yes please"),
    ("no", r"n|no|nope|don'?t|cancel|never ?mind|leave it|no thanks"),
]
_COMPILED = [(kind, re.compile(rf"^\s*{_POLITE_HEAD}(?:{pat}){_POLITE_TAIL}$", re.I))
             for kind, pat in _PATTERNS]

_OS_WORDS = {"macos": r"mac(?:os| ?os ?x|book)?|os ?x|apple", "windows": r"windows|win(?:10|11)|pc",
             "linux": r"linux|ubuntu|debian|fedora|arch|wsl"}
_OS = re.compile(
    r"^\s*" + _POLITE_HEAD + r"(?:(?:and |but )?(?:how|what) about\s+(?:(?:on|for|in)\s+)?|"
    r"(?:(?:and |but )?(?:how (?:do|would|can|could) i (?:do|fix|check) (?:that|this|it)|and|"
    r"same|and how)\s+)?(?:on|for|in|with)\s+)"
    r"(?:a |an |the |my )?(?P<os>" + "|".join(f"(?:{v})" for v in _OS_WORDS.values()) + r")"
    r"(?: instead)?\s*[.!?]*$", re.I)


# "show me the commands for mac", "give me the windows commands", "the linux
# version?" (field trial 11: the first went to the AirPlay entry).
_OS_ALT = "|".join(f"(?:{v})" for v in _OS_WORDS.values())
_OS_THINGS = r"(?:commands?|fix(?:es)?|steps?|version|one|way|instructions?|equivalent)"
_OS_ASKED = re.compile(
    r"^\s*" + _POLITE_HEAD + r"(?:(?:show|give|tell|send) me |what (?:are|is) |and |ok,? )?"
    r"(?:the |a |an )?(?:" + _OS_THINGS + r" (?:for|on|in) (?:a |an |the |my )?(?P<os>" + _OS_ALT
    + r")|(?P<os2>" + _OS_ALT + r") " + _OS_THINGS + r")(?: please)?\s*[.!?]*$", re.I)


def read(text: str) -> FollowUp | None:
    """The follow-up `text` is, or None when it is something new."""
    text = text.strip().replace("’", "'")
    if not text or len(text) > 120:
        return None
    m = _OS.match(text) or _OS_ASKED.match(text)
    if m:
        said = (m.group("os") or m.groupdict().get("os2") or "").lower()
        for name, words in _OS_WORDS.items():
            if re.fullmatch(words, said, re.I):
                return FollowUp("os", name)
    for kind, pattern in _COMPILED:
        if pattern.match(text):
            return FollowUp(kind)
    return None


# "why did that happen?", "what does stopped mean?": about the last answer
# (field trial 9: they went to the knowledge base and came back as menus).
_WHY_ABOUT_IT = re.compile(
    r"^\s*(?:(?:and|so|but|ok|okay)[,\s]+)?(?:why (?:did|does|is|was|would) (?:that|it|this|the "
    r"(?:server|process|app|port|connection))(?: (?:happen(?:ed)?|stopped|stop|fail(?:ed)?|"
    r"refused|hang(?:ing)?|so|the case))?|what does (?:that|this|it|[a-z_-]{2,20}) mean|"
    r"what (?:caused|causes) (?:that|it|this)|how did (?:that|it|this) happen)\s*[?!.]*\s*$",
    re.I)


def asks_why(text: str) -> bool:
    """Whether `text` asks why the last answer is so ("why did that happen?")."""
    return _WHY_ABOUT_IT.match(text) is not None
