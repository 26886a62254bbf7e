"""The dashboard's static assets (package data: index.html, style.css, js/*.js), served by
gitopsd/server/dashboard.py. No Python here; a package so importlib.resources finds the files."""
