"""Renderers: result objects in, terminal text / JSON / files out. They never open trials files."""
