"""Coordination of the SHIM servers of one workspace through Redis: the connection, the
registry of members, and the messages they exchange. Pure: no pygls, no CLI, so the server
and ``shim windows`` share it. Nothing here is imported unless a Redis URL is configured."""
