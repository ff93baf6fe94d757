"""Jinja2 templates shipped with the package."""
