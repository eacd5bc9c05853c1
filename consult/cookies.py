"""The signed session cookie and the CSRF token, each verified once per worker process, not on every request.

Flask verifies the session cookie (an HMAC, zlib and JSON) and Flask-WTF the CSRF token (two HMACs) on every
request; on a vote that was about a tenth of the server's work. Both are pure functions of the text sent and
the secret key, so each worker remembers the last few thousand texts it has verified and what they carried.
Only a text whose signature was verified is remembered, and the comparisons that depend on the request (the
cookie's age, the token against this session's own) are still made on every request.
"""

from __future__ import annotations

import copy
import hmac
import time
from functools import lru_cache
from typing import Any

from flask import Flask, current_app, g, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect, same_origin
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.wrappers import Request

# Texts remembered per worker process: a few kilobytes each at most, so a few megabytes in all.
REMEMBERED = 4096
CSRF_SALT = "wtf-csrf-token"
_SCALARS = (str, int, float, bool, type(None))


class RememberingSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, remembering the cookies it has verified and what they held."""

    def __init__(self) -> None:
        self._verified = lru_cache(maxsize=REMEMBERED)(self._verify)

    def _verify(self, keys: tuple[str | bytes, ...], value: str) -> tuple[dict[str, Any], float] | None:
        """What a cookie holds and when it was signed (Unix time), or None when its signature is not ours."""
        serializer = URLSafeTimedSerializer(list(keys), salt=self.salt, serializer=self.serializer,
                                            signer_kwargs={"key_derivation": self.key_derivation,
                                                           "digest_method": self.digest_method})
        try:
            data, signed = serializer.loads(value, return_timestamp=True)
        except BadData:
            return None
        return data, signed.timestamp()

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """The session the request's cookie holds; an empty one for a missing, forged or expired cookie."""
        if not app.secret_key:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        keys = (*(app.config["SECRET_KEY_FALLBACKS"] or ()), app.secret_key)
        verified = self._verified(keys, value)
        if verified is None:
            return self.session_class()
        data, signed = verified
        age = time.time() - signed
        if age < 0 or age > app.permanent_session_lifetime.total_seconds():
            return self.session_class()  # as itsdangerous's max_age check: expired, or signed in the future
        # The remembered values are shared by every request that sends this cookie: a copy for this one.
        if all(isinstance(item, _SCALARS) for item in data.values()):
            return self.session_class(data)
        return self.session_class(copy.deepcopy(data))


@lru_cache(maxsize=REMEMBERED)
def _csrf_value(secret_key: str | bytes, token: str) -> str | None:
    """The session value a signed CSRF token carries, or None when its signature is not ours."""
    try:
        value = URLSafeTimedSerializer(secret_key, salt=CSRF_SALT).loads(token)
    except BadData:
        return None
    return value if isinstance(value, str) else None


class RememberingCSRFProtect(CSRFProtect):
    """Flask-WTF's CSRF protection, with the token's signature checked once per token and worker.

    Every POST, PUT, PATCH and DELETE is still checked before any view runs: the token must be one this app
    signed and must carry this session's own value; over HTTPS the referrer must be this site. Tokens do not
    expire here (WTF_CSRF_TIME_LIMIT is None); with a time limit set, Flask-WTF's own check runs instead.
    """

    def protect(self, apply_exemptions: bool = False) -> None:
        """Refuse the request (400) unless it carries a valid CSRF token."""
        config = current_app.config
        if config["WTF_CSRF_TIME_LIMIT"] is not None or config.get("WTF_CSRF_SECRET_KEY"):
            super().protect(apply_exemptions)
            return
        if apply_exemptions and (not request.endpoint or self._is_exempt()):
            return
        if request.method not in config["WTF_CSRF_METHODS"]:
            return
        token = self._get_csrf_token()
        if not token:
            self._error_response("The CSRF token is missing.")
        field = config["WTF_CSRF_FIELD_NAME"]
        if field not in session:
            self._error_response("The CSRF session token is missing.")
        value = _csrf_value(current_app.secret_key, token)
        if value is None:
            self._error_response("The CSRF token is invalid.")
        if not hmac.compare_digest(session[field], value):
            self._error_response("The CSRF tokens do not match.")
        if request.is_secure and config["WTF_CSRF_SSL_STRICT"]:
            if not request.referrer:
                self._error_response("The referrer header is missing.")
            if not same_origin(request.referrer, f"https://{request.host}/"):
                self._error_response("The referrer does not match the host.")
        g.csrf_valid = True
