"""``skm-bot whatsapp flow publish|status``: the questionnaire as a WhatsApp Flow."""

from __future__ import annotations

import argparse

import aiohttp

from bot.app import open_storage
from bot.settings import ConfigError, Settings
from bot.whatsapp_flows import (
    current_flow_json,
    flows_in_use,
    json_hash,
    publish_flows,
)
from handlers.dispatcher import utc_now
from handlers.whatsapp.graph import GraphClient, GraphError
from storage.whatsapp_flows import stored_flows
from survey_flows.catalog import LANGUAGES


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    whatsapp = subparsers.add_parser("whatsapp", help="WhatsApp set-up")
    w_actions = whatsapp.add_subparsers(dest="whatsapp_command", required=True, metavar="ACTION")
    flow = w_actions.add_parser("flow", help="the questionnaire as a WhatsApp Flow form")
    f_actions = flow.add_subparsers(dest="flow_command", required=True, metavar="ACTION")
    f_actions.add_parser(
        "publish", help="create or update the Flow of each language and publish it"
    )
    f_actions.add_parser("status", help="the stored Flows, whether current, and Meta's status")


async def dispatch(args: argparse.Namespace, settings: Settings) -> int | None:
    if args.command != "whatsapp":
        return None
    if not settings.whatsapp_access_token or not settings.whatsapp_phone_number_id:
        raise ConfigError("WHATSAPP_ACCESS_TOKEN: required for `skm-bot whatsapp`")
    if args.flow_command == "publish" and not settings.whatsapp_business_account_id:
        raise ConfigError(
            "WHATSAPP_BUSINESS_ACCOUNT_ID: required for `skm-bot whatsapp flow publish`"
        )
    async with aiohttp.ClientSession() as session, open_storage(settings) as storage:
        client = GraphClient(
            session,
            access_token=settings.whatsapp_access_token.get_secret_value(),
            phone_number_id=settings.whatsapp_phone_number_id,
            base_url=settings.whatsapp_api_base_url,
            version=settings.whatsapp_graph_version,
        )
        try:
            if args.flow_command == "publish":
                assert settings.whatsapp_business_account_id is not None
                outcomes = await publish_flows(
                    client, storage, settings, settings.whatsapp_business_account_id, utc_now()
                )
                failed = False
                for outcome in outcomes:
                    print(f"{outcome.language}  {outcome.flow_id}  {outcome.action}")
                    for error in outcome.errors:
                        print(f"    {error}")
                    failed = failed or outcome.action == "invalid"
                return 1 if failed else 0
            stored = await stored_flows(storage)
            in_use = await flows_in_use(settings, storage)
            for language in LANGUAGES:
                flow = stored.get(language)
                current = json_hash(current_flow_json(settings, language))
                if flow is None:
                    print(f"{language}  (none)  not published")
                    continue
                meta = await client.flow_info(flow.flow_id)
                fresh = "current" if flow.json_sha256 == current else "STALE: publish again"
                print(f"{language}  {flow.flow_id}  Meta: {meta.get('status', '?')}  {fresh}")
            if in_use.ids:
                used = ", ".join(f"{k}={v}" for k, v in sorted(in_use.ids.items()))
                print(f"in use: {used}")
            else:
                print("in use: none (the chat asks every question)")
            return 0
        except GraphError as exc:
            print(f"skm-bot: the Graph API refused: {exc.reason}")
            return 1
