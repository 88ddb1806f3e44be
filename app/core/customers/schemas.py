"""Customer request bodies."""

from datetime import date
from typing import Annotated, Literal

import msgspec

from app.core.contract.bodies import Body

Email = Annotated[str, msgspec.Meta(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Phone = Annotated[str, msgspec.Meta(max_length=30, pattern=r"^\+?[0-9 ()-]{6,30}$")]


class CustomerCreate(Body):
    """Which names are due depends on ``customer_type``; the service checks that."""

    customer_type: Literal["INDIVIDUAL", "CORPORATE"]
    first_name: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    last_name: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    company_name: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    email: Email | None = None
    phone: Phone | None = None
    date_of_birth: date | None = None
    address: Annotated[str, msgspec.Meta(max_length=500)] | None = None
