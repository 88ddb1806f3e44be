"""Request bodies of the single sign-on and second-factor sign-in steps."""

import re
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.core.detail_codes import DetailCode, refusal

# RFC 7636, 4.1: 43-128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


class OidcTokenRequest(BaseModel):
    """`POST /auth/oidc/token`: the provider's answer, one of two forms.

    * ``{code, code_verifier, redirect_uri, nonce, iss?}``: the authorization code with
      its PKCE verifier; the core redeems it with the tenant's client secret.
    * ``{id_token, nonce}``: an ID token the caller redeemed itself.
    """

    model_config = ConfigDict(extra="forbid")

    nonce: str = Field(min_length=16, max_length=255)
    id_token: str | None = Field(default=None, min_length=20, max_length=16_000)
    code: str | None = Field(default=None, min_length=1, max_length=2_048)
    code_verifier: str | None = None
    redirect_uri: str | None = Field(default=None, min_length=8, max_length=2_000)
    iss: str | None = Field(default=None, min_length=1, max_length=500)

    @field_validator("code_verifier")
    @classmethod
    def _verifier(cls, value: str | None) -> str | None:
        if value is not None and not _VERIFIER.match(value):
            raise refusal(
                DetailCode.INVALID_FORMAT,
                "must be 43-128 characters of letters, digits and -._~ (RFC 7636)",
            )
        return value

    @field_validator("redirect_uri")
    @classmethod
    def _redirect(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise refusal(
                DetailCode.INVALID_FORMAT, "must be the http(s) URL the provider redirected to"
            )
        return value

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        if (self.id_token is None) == (self.code is None):
            raise refusal(
                DetailCode.REQUIRED,
                "send either id_token, or code with code_verifier and redirect_uri",
            )
        if self.code is not None and (self.code_verifier is None or self.redirect_uri is None):
            raise refusal(DetailCode.REQUIRED, "a code needs its code_verifier and redirect_uri")
        return self


class MfaVerifyRequest(BaseModel):
    """`POST /auth/mfa/verify`: the challenge and a code, or a recovery code."""

    model_config = ConfigDict(extra="forbid")

    challenge: str = Field(min_length=8, max_length=200)
    code: str | None = Field(default=None, min_length=1, max_length=20)
    recovery_code: str | None = Field(default=None, min_length=1, max_length=40)

    @model_validator(mode="after")
    def _one_code(self) -> Self:
        if (self.code is None) == (self.recovery_code is None):
            raise refusal(DetailCode.REQUIRED, "send either code or recovery_code")
        return self


class MfaEnrolRequest(BaseModel):
    """`POST /auth/mfa/enrol`."""

    model_config = ConfigDict(extra="forbid")

    challenge: str = Field(min_length=8, max_length=200)


class MfaEnrolConfirmRequest(BaseModel):
    """`POST /auth/mfa/enrol/confirm`."""

    model_config = ConfigDict(extra="forbid")

    challenge: str = Field(min_length=8, max_length=200)
    code: str = Field(min_length=1, max_length=20)
