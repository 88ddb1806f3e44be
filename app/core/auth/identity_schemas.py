"""Request bodies of the single sign-on and second-factor sign-in steps.

Each sign-in form is one of two; sending both or neither is refused by the body's rule
(``VALIDATION_ERROR``, the fields named). The document says the same as a ``oneOf``
(``RULES`` in app/core/contract/requests.py).
"""

from typing import Annotated

import msgspec

from app.core.contract.bodies import Body, refuse
from app.core.detail_codes import DetailCode, detail

Challenge = Annotated[str, msgspec.Meta(min_length=8, max_length=200)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
# RFC 7636, 4.1: 43-128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
Verifier = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[A-Za-z0-9\-._~]{43,128}$",
        description="43-128 characters of letters, digits and -._~ (RFC 7636)",
    ),
]
# The http(s) URL the provider redirected to.
RedirectUri = Annotated[str, msgspec.Meta(min_length=8, max_length=2_000, pattern=r"^https?://")]


class OidcTokenRequest(Body):
    """`POST /auth/oidc/token`: the provider's answer, one of two forms.

    * ``{code, code_verifier, redirect_uri, nonce, iss?}``: the authorization code with
      its PKCE verifier; the core redeems it with the tenant's client secret.
    * ``{id_token, nonce}``: an ID token the caller redeemed itself.
    """

    nonce: Annotated[str, msgspec.Meta(min_length=16, max_length=255)]
    id_token: Annotated[str, msgspec.Meta(min_length=20, max_length=16_000)] | None = None
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=2_048)] | None = None
    code_verifier: Verifier | None = None
    redirect_uri: RedirectUri | None = None
    iss: Annotated[str, msgspec.Meta(min_length=1, max_length=500)] | None = None

    def __post_init__(self) -> None:
        if self.id_token is not None and self.code is not None:
            refuse([detail("code", DetailCode.INVALID, "send id_token or code, not both")])
        if self.id_token is None and self.code is None:
            refuse(
                [
                    detail(
                        "id_token",
                        DetailCode.REQUIRED,
                        "send either id_token, or code with code_verifier and redirect_uri",
                    )
                ]
            )
        if self.code is not None:
            refuse(
                detail(
                    field, DetailCode.REQUIRED, "a code needs its code_verifier and redirect_uri"
                )
                for field, value in (
                    ("code_verifier", self.code_verifier),
                    ("redirect_uri", self.redirect_uri),
                )
                if value is None
            )


class MfaVerifyRequest(Body):
    """`POST /auth/mfa/verify`: the challenge and a code, or a recovery code."""

    challenge: Challenge
    code: Code | None = None
    recovery_code: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] | None = None

    def __post_init__(self) -> None:
        if self.code is not None and self.recovery_code is not None:
            refuse(
                [
                    detail(
                        "recovery_code", DetailCode.INVALID, "send code or recovery_code, not both"
                    )
                ]
            )
        if self.code is None and self.recovery_code is None:
            refuse([detail("code", DetailCode.REQUIRED, "send either code or recovery_code")])


class MfaEnrolRequest(Body):
    """`POST /auth/mfa/enrol`."""

    challenge: Challenge


class MfaEnrolConfirmRequest(Body):
    """`POST /auth/mfa/enrol/confirm`."""

    challenge: Challenge
    code: Code
