"""``vibe-quant alerts test``: send one test message to the configured Telegram chat.

    vibe-quant alerts test [--message TEXT] [--json]

Settings from ``VIBE_QUANT_TELEGRAM_TOKEN``, ``VIBE_QUANT_TELEGRAM_CHAT_ID`` and optional
``VIBE_QUANT_TELEGRAM_BASE_URL`` (SPEC.md §14). Checks the token with ``getMe``, then sends
``sendMessage``. Exit codes: 0 sent, 1 not delivered (one ``error:`` line, token removed),
2 not configured.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime

from vibe_quant.cli.common import CliError, add_common, emit_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("alerts", help="Telegram alerts")
    asub = p.add_subparsers(dest="alerts_command", metavar="ACTION", required=True)
    t = asub.add_parser("test", help="send a test message to the configured Telegram chat")
    t.add_argument("--message", default=None, help="text to send (default: a dated test line)")
    add_common(t)
    t.set_defaults(func=_test)


async def _send(cfg, text: str) -> tuple[str | None, int]:
    from vibe_quant.alerts.bot import close_bot, get_me, make_bot, send_text

    bot = make_bot(cfg, max_retries=1)
    try:
        me = await get_me(bot)
        msg = await send_text(bot, cfg.chat_id, text)
        return me.username, msg.message_id
    finally:
        await close_bot(bot)


def _test(args: argparse.Namespace) -> int:
    from vibe_quant.alerts.bot import describe_error
    from vibe_quant.alerts.config import AlertConfigError, from_env
    from vibe_quant.alerts.redact import redact

    try:
        cfg = from_env()
    except AlertConfigError as e:
        raise CliError(str(e), 2) from None
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    text = redact(args.message or f"vibe-quant test alert, {now}", (cfg.token,))
    try:
        username, message_id = asyncio.run(_send(cfg, text))
    except Exception as e:
        raise CliError(f"Telegram test alert not sent: {describe_error(e, cfg)}", 1) from None
    if args.json:
        emit_json(
            {
                "ok": True,
                "chat_id": cfg.chat_id,
                "message_id": message_id,
                "bot_username": username,
                "base_url": cfg.base_url,
            }
        )
    else:
        print(
            f"sent test message {message_id} to chat {cfg.chat_id} as @{username} "
            f"via {cfg.base_url}"
        )
    return 0
