"""Shared test support code (stand-ins for external services)."""
