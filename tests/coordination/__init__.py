"""Tests of the group of windows, through a real redis-server."""
