"""What enters the privacy endpoints."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from service.fields import PlainText


class ErasureRequest(BaseModel):
    """Erasing an account is confirmed with its password."""

    model_config = ConfigDict(extra="forbid")

    password: Annotated[str, StringConstraints(min_length=1, max_length=128), PlainText]
