"""How a flow declares an A/B test of one of its texts.

```yaml
experiments:
  - id: short-greeting
    target: texts.greeting          # or slots.<name>.question / .reask / .ack
    metric: qualified               # what decides the winner: qualified | completed | handed_off
    variants:
      - {id: a, weight: 1}          # no text: the text as written in the flow (the control)
      - {id: b, weight: 1, text: "Hey! Two minutes of questions and you're through to the team."}
```

The first variant is the control the others are compared with.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Metric = Literal["completed", "qualified", "handed_off"]
METRICS: tuple[Metric, ...] = ("completed", "qualified", "handed_off")
# Which texts of a slot an experiment may vary.
SLOT_TEXTS = ("question", "reask", "ack")
TARGET = re.compile(r"^(?:texts\.([a-z_]+)|slots\.([a-z][a-z0-9_]{0,40})\.(question|reask|ack))$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Variant(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,20}$")
    # Relative share of new conversations; 0 stops assigning the variant (its results stay).
    weight: int = Field(default=1, ge=0, le=1000)
    text: str | None = Field(default=None, min_length=1)  # None: the flow's own text


class Experiment(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,40}$")
    target: str
    metric: Metric = "qualified"
    variants: tuple[Variant, ...] = Field(min_length=2, max_length=10)

    @model_validator(mode="after")
    def _well_formed(self) -> Experiment:
        if not TARGET.match(self.target):
            raise ValueError(f"target '{self.target}': use texts.<name> or slots.<slot>.question|reask|ack")
        ids = [v.id for v in self.variants]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"variant ids must be unique; repeated: {', '.join(repeated)}")
        if sum(v.weight for v in self.variants) == 0:
            raise ValueError("at least one variant needs a weight above 0")
        return self

    @property
    def control(self) -> Variant:
        return self.variants[0]

    def variant(self, variant_id: str) -> Variant | None:
        return next((v for v in self.variants if v.id == variant_id), None)
