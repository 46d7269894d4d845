"""Routing: who owns a report, from the routing rules, buildings and the dispatcher."""
