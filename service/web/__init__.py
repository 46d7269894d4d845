"""The web app: server-rendered pages for residents (and, under ``/staff``, the staff
console) on the same services, access rules and sessions as the API.

Pages are an edge like the routers: they take the same dependencies (the caller, the clock,
the database session), call the same services, and render Jinja2 templates. They hold no rule
of their own and no SQL, so a page shows a caller exactly what the API would show them. Forms
post back to their page with a CSRF token; errors come back next to the field, in the
reader's language. Scripts only enhance: every flow works without JavaScript. Nothing is
loaded from a CDN; the map library is vendored under ``static/vendor`` with its licence.
"""
