"""Templates shipped with Baton (``NAME.vN.yaml``); a package so they install as package data."""
