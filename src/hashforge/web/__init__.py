"""The web dashboard: server-rendered pages (Jinja2), inline SVG charts, live updates over SSE.

No third-party front-end code: the CSS and the small script in static/ are ours.
"""
