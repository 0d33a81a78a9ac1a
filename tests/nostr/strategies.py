"""Hypothesis strategies for Nostr values, shared by the codec and parser tests."""

from hypothesis import strategies as st

from nostrp2p.nostr import sign_event

# Any Unicode text that has a UTF-8 form (no lone surrogates): control characters, quotes,
# backslashes, emoji and non-BMP characters all included.
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
tags = st.lists(st.lists(text, min_size=1, max_size=4).map(tuple), max_size=5).map(tuple)
secrets = st.integers(min_value=1, max_value=2**255).map(lambda n: n.to_bytes(32, "big"))


@st.composite
def events(draw):
    return sign_event(
        draw(secrets),
        draw(st.integers(min_value=0, max_value=2**33)),
        draw(st.sampled_from([0, 1, 3, 6, 7, 30023])),
        draw(tags),
        draw(text),
    )
