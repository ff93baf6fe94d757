"""Stylesheets, scripts and images of the server-rendered pages, served under /static/."""
