"""Query-parameter models shared by views. Unknown parameters are rejected (a misspelt `filtr=` must not silently
return everything); bare flags such as `?all_fields` arrive as empty strings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from chalicelib.domain.selectors import Selection, parse_selection


class SelectorQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    all_fields: str | None = None
    fields: str | None = None
    exclude_fields: str | None = None
    exclude_default: str | None = None

    def selection(self) -> Selection:
        return parse_selection(self.all_fields, self.fields, self.exclude_fields, self.exclude_default)
