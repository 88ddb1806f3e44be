"""Whether the database's Alembic revisions are at the code's heads."""

from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

ROOT = Path(__file__).resolve().parent.parent


@lru_cache(maxsize=1)
def code_heads() -> frozenset[str]:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


async def heads_applied(session: Any) -> bool:
    try:
        rows = (await session.execute(sa.text("SELECT version_num FROM alembic_version"))).all()
    except Exception:
        return False
    return {r[0] for r in rows} == code_heads()
