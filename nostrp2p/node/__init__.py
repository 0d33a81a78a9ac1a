"""The node layer: what the first NostrP2P called the message manager. It decides where each
event goes (broadcast, unicast to one user's server, stored only), answers requests from other
servers, keeps the resend queue and the abuse bounds."""
