"""Reject XML payloads that declare entities: no feed needs them, and they are the two classic
attacks on XML readers, external entities that read local files (XXE) and nested entities that
expand without bound ("billion laughs").

feedparser already leaves external entities unresolved and expat caps expansion, but either
way the payload would be loaded with silently damaged text. Rejecting it names the problem.
"""

from __future__ import annotations

import re

# A DOCTYPE whose internal subset declares an entity. A DOCTYPE that only names an external DTD
# is allowed (old RSS 0.91 feeds carry Netscape's); feedparser never fetches it.
_ENTITY_DECLARATION = re.compile(rb"<!DOCTYPE[^>\[]*\[[^\]]*?<!ENTITY", re.IGNORECASE | re.DOTALL)
# Entity declarations sit in the prolog. A declaration later than this is not found here, and
# then feedparser's own limits apply (external entities unresolved, expansion capped by expat).
_PROLOG_BYTES = 65_536


def xml_hazard(body: bytes) -> str | None:
    """Return why ``body`` is rejected as hostile XML, or None. The reason is a lower-case clause."""
    prolog = body[:_PROLOG_BYTES]
    if b"<!" not in prolog:
        return None
    if _ENTITY_DECLARATION.search(prolog):
        return (
            "the body declares XML entities in its DOCTYPE (<!ENTITY ...>), which no feed needs. It is rejected "
            "because entities can read local files (XXE) or expand without bound (billion laughs)"
        )
    return None
