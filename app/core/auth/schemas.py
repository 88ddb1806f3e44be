"""Request bodies of the auth routes.

The sign-in bodies ignore members they do not know (as they always have: a client may
send more than these), so they leave ``Body``'s unknown-field rule off.
"""

from typing import Annotated

import msgspec

from app.core.contract.bodies import Body

Token = Annotated[str, msgspec.Meta(min_length=8, max_length=200)]


class LoginRequest(Body, forbid_unknown_fields=False):
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


class ApiKeyTokenRequest(Body, forbid_unknown_fields=False):
    api_key: Token


class RefreshRequest(Body, forbid_unknown_fields=False):
    refresh_token: Token
