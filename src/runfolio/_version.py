"""The package version, kept apart so importing it costs nothing."""

__version__ = "0.1.0"

# The version of the artifacts API schema we speak (what `GET /api/version` answers).
API_VERSION = "0.8.4"
# What `GET /api/admin/version` answers: a 3.x version string, so clients that
# check the server's major version accept runfolio's server.
COMPATIBLE_SERVER_VERSION = "3.9.1"
