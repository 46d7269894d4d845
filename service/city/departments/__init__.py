"""Departments, managing organisations and the dispatcher, as a tree."""
