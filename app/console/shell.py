"""What the signed-in shell shows around every page, worked out once per page: the bank's
business date in the top bar and the counts beside the navigation.

A page that reads ``GET /tenant`` itself passes it as ``tenant``; every other page gets the
same (briefly cached) answer here, so the business date never comes and goes between pages.
"""

from typing import Any

import structlog
from litestar import Request

from app.client import BankingAPIError
from app.console.auth.session import CoreSessionEnded, current_session
from app.console.banking import CoreSession
from app.console.htmx import wants_fragment
from app.console.pending_count import nav_badges

logger = structlog.get_logger("branchdesk.console")

SHELL_TENANT_KEY = "shell_tenant"


async def shell_context(request: Request[Any, Any, Any]) -> None:
    """``before_request`` hook: the shell's business date and navigation counts, for whole
    pages of signed-in staff only."""
    if request.method != "GET" or wants_fragment(request):
        return
    if current_session(request) is None:
        return
    try:
        request.state[SHELL_TENANT_KEY] = await CoreSession(request).tenant()
    except (BankingAPIError, CoreSessionEnded) as exc:
        # The page itself will say what is wrong; a missing date is no reason to fail it.
        logger.info("console.shell_tenant_skipped", error=type(exc).__name__)
    await nav_badges(request)
