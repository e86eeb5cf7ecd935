"""``vibe-quant alerts test``: send one test message to the configured Telegram chat.

    vibe-quant alerts test [--message TEXT] [--json]

Settings from ``VIBE_QUANT_TELEGRAM_TOKEN``, ``VIBE_QUANT_TELEGRAM_CHAT_ID`` and optional
``VIBE_QUANT_TELEGRAM_BASE_URL`` (SPEC.md §14). Checks the token with ``getMe``, then sends
``sendMessage`` (:func:`vibe_quant.services.alerts.send_test_alert`). Exit codes: 0 sent,
1 not delivered (one ``error:`` line, token removed), 2 not configured.
"""

from __future__ import annotations

import argparse

from vibe_quant.cli.common import CliError, add_common, emit_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("alerts", help="Telegram alerts")
    asub = p.add_subparsers(dest="alerts_command", metavar="ACTION", required=True)
    t = asub.add_parser("test", help="send a test message to the configured Telegram chat")
    t.add_argument("--message", default=None, help="text to send (default: a dated test line)")
    add_common(t)
    t.set_defaults(func=_test)


def _test(args: argparse.Namespace) -> int:
    from vibe_quant.services.alerts import AlertConfigError, AlertDeliveryError, send_test_alert

    try:
        sent = send_test_alert(args.message)
    except AlertConfigError as e:
        raise CliError(str(e), 2) from None
    except AlertDeliveryError as e:
        raise CliError(str(e), 1) from None
    if args.json:
        emit_json(
            {
                "ok": True,
                "chat_id": sent.chat_id,
                "message_id": sent.message_id,
                "bot_username": sent.bot_username,
                "base_url": sent.base_url,
            }
        )
    else:
        print(
            f"sent test message {sent.message_id} to chat {sent.chat_id} as "
            f"@{sent.bot_username} via {sent.base_url}"
        )
    return 0
