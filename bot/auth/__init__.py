"""Accounts and access: users, passwords, sessions, CSRF, sign-in throttling, role guards.

What other modules use (imported from their modules, so the command line stays light):
- `bot.auth.web.setup_auth(app)` — once, in create_app.
- `request[bot.auth.identity.USER]` — the signed-in `User` or None, on every request
  (`bot.auth.identity.current_user`).
- `bot.auth.guards.require_role("agent" | "admin", page=True | False)` — decorate a handler;
  pages redirect to sign-in and show 403 pages, JSON endpoints answer 401/403; unsafe requests
  made with a session must carry its CSRF token.
- `bot.auth.rendering.render(request, "name.html", **context)` — a page from `bot/templates`
  (extend `base.html`), escaped, with the security headers, `user` and `csrf_token`.
- `bot.auth.users.User` and `Users` (`app[keys.USERS]`).
"""
