"""The rules' thresholds as stored for a deployment: set them, read the one in force at a time.

``chiptrail demo`` stores its scaled thresholds here, so ``chiptrail rules run --db`` over the
demo's database judges with the same ones; with nothing stored the ``RuleConfig`` defaults apply.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from chiptrail.errors import InvalidInput
from chiptrail.rules.view import RuleConfig
from chiptrail.store.database import Database
from chiptrail.store.records_tables import rule_configs


def config_to_json(config: RuleConfig) -> dict[str, Any]:
    """The JSON form of a ``RuleConfig`` (country sets as sorted lists)."""
    return {k: sorted(v) if isinstance(v, frozenset) else v for k, v in asdict(config).items()}


def config_from_json(data: dict[str, Any]) -> RuleConfig:
    """A ``RuleConfig`` from its JSON form; unknown names refused, missing ones default.

    Raises:
        InvalidInput: an unknown threshold name or a value of the wrong type.
    """
    known = {f.name: f for f in fields(RuleConfig)}
    values: dict[str, Any] = {}
    for name, value in data.items():
        if name not in known:
            raise InvalidInput(
                f"unknown rule threshold {name!r}; known: {', '.join(known)}", {"field": name}
            )
        default = getattr(RuleConfig(), name)
        if isinstance(default, frozenset):
            if not isinstance(value, list):
                raise InvalidInput(f"{name}: a list of ISO2 codes", {"field": name})
            values[name] = frozenset(str(v).upper() for v in value)
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput(f"{name}: a number", {"field": name})
        elif value < 0:
            raise InvalidInput(f"{name}: must be 0 or more", {"field": name})
        else:
            values[name] = type(default)(value)
    return RuleConfig(**values)


def set_rule_config(db: Database, config: RuleConfig, *, now: datetime) -> None:
    """Store ``config`` as the thresholds in force from ``now`` (earlier ones stay, for replay)."""
    data = json.dumps(config_to_json(config), sort_keys=True)
    with db.unit() as conn:
        latest = load_rule_config(conn, now)
        if latest is not None and latest == config:
            return
        conn.execute(insert(rule_configs).values(set_at=now, data=data))


def load_rule_config(conn: Connection, at: datetime) -> RuleConfig | None:
    """The thresholds in force at ``at`` (the latest set by then), None when none was stored."""
    t = rule_configs
    data = conn.execute(
        select(t.c.data).where(t.c.set_at <= at).order_by(t.c.set_at.desc(), t.c.config_id.desc())
    ).scalar()
    return None if data is None else config_from_json(json.loads(data))


def get_rule_config(db: Database, at: datetime) -> RuleConfig:
    """The thresholds in force at ``at``: the stored ones, else the defaults."""
    with db.unit() as conn:
        return load_rule_config(conn, at) or RuleConfig()
