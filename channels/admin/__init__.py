"""The staff web console (``/admin/``): server-rendered pages (Jinja2, htmx), login with roles,
CSRF, audit. Mounted by the app through :func:`channels.admin.routes.admin_routes`."""
