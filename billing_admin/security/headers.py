"""Security headers on every response: pages, JSON, redirects, errors and static files."""

from flask import Flask, Response, request

from billing_admin.config import is_production

# Only our own files; no inline scripts or styles. data: images are allowed for the small SVG
# icons the vendored Pico CSS draws (checkbox ticks, select arrows); images cannot run code.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"


def register_security_headers(app: Flask) -> None:
    hsts = is_production(app)

    @app.after_request
    def set_security_headers(response: Response) -> Response:
        headers = response.headers
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "same-origin"
        headers["X-Frame-Options"] = "DENY"
        if request.endpoint != "static":
            # Admin pages and API answers hold billing data: never kept by browsers or proxies.
            headers["Cache-Control"] = "no-store"
        if hsts:
            headers["Strict-Transport-Security"] = HSTS
        return response
