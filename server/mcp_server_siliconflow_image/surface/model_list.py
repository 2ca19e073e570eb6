"""The list_models tool's answer: which models exist and what each accepts, for an agent to choose by.

With a key it also reports the account's balance, since an empty balance (or a missing real-name
verification) is what most often stops generation on SiliconFlow. Both are the calling key's own (a hosted
caller's `X-SiliconFlow-Api-Key`, else the server's); a key the provider refuses is an error naming that key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from mcp_server_siliconflow_image.provider.catalog import GENERATION_ARGUMENTS, MAX_BATCH_SIZE, Capability
from mcp_server_siliconflow_image.provider.client import Account, ProviderError
from mcp_server_siliconflow_image.provider.live import DirectoryEntry

if TYPE_CHECKING:
    from mcp_server_siliconflow_image.context import CallContext


DefaultFor = Literal["generate_image", "edit_image", "generate_video"]


class ModelOut(BaseModel):
    id: str
    description: str
    capabilities: list[Capability]
    known: bool = Field(
        description="False: the provider lists it but this server has no rules for it (still callable)."
    )
    max_input_images: int | None = Field(
        description="Input images the model takes (edit_image: image, image2, image3; generate_video: image)."
    )
    arguments: list[str] | None = Field(description="Optional arguments this model accepts; others are not sent.")
    recommended_sizes: list[str] | None
    aspect_ratios: dict[str, str] | None = Field(description="aspect_ratio value -> image_size it maps to.")
    defaults: dict[str, float] | None = Field(description="Values sent when the caller gives none.")
    max_batch_size: int | None = Field(description="Images one call may ask for (batch_size); none for video.")
    native_batch: bool | None = Field(
        None, description="True: one request makes the whole batch; false: one request per image, in parallel."
    )
    default_for: list[DefaultFor] = Field(default_factory=list)


class BalanceOut(BaseModel):
    """The key's account as the provider reports it (decimal strings in the account's currency)."""

    total_balance: str | None = Field(description="Everything the key can spend: granted plus charged.")
    balance: str | None = Field(description="Granted (free) balance.")
    charge_balance: str | None = Field(description="Balance the account paid for.")
    status: str | None = Field(description="Account status, e.g. normal.")


class ModelListResult(BaseModel):
    """Structured result of list_models."""

    source: Literal["live", "catalog"] = Field(
        description="live: the provider's current list merged with built-in rules; catalog: built-in list only."
    )
    note: str | None = None
    models: list[ModelOut]
    balance: BalanceOut | None = Field(
        None, description="The key's account balance; absent without a key or when the provider does not say."
    )
    balance_note: str | None = Field(None, description="Why the balance is absent, when a key is set.")


async def list_models_result(context: CallContext, capability: Capability | None) -> CallToolResult:
    """The models the calling key may use and its balance. Raises ProviderError when the provider refuses the key:
    a catalog answer would suggest the key works."""
    settings = context.settings
    has_key = context.key.secret is not None
    looked_up = await context.live.live(context.provider)
    account = await context.live.account(context.provider)
    for refused in (looked_up, account):
        if refused.key_refused:
            raise ProviderError(f"list_models: {refused.failure}", status=refused.status)
    live = looked_up.value
    if live is not None:
        source: Literal["live", "catalog"] = "live"
        note = None
    else:
        source = "catalog"
        reason = (
            "no SILICONFLOW_API_KEY is set"
            if not has_key
            else f"the provider's list could not be fetched ({looked_up.failure})"
        )
        note = f"Built-in catalog only: {reason}. The provider may offer more models."
    defaults: dict[DefaultFor, str] = {
        "generate_image": settings.default_model,
        "edit_image": settings.edit_model,
        "generate_video": settings.video_model,
    }
    models = [
        _model_out(entry, defaults)
        for entry in context.live.entries(live)
        if capability is None or capability in entry.capabilities
    ]
    balance_note = None
    if has_key and account.value is None:
        balance_note = f"Balance unavailable: {account.failure}."
    result = ModelListResult(
        source=source, note=note, models=models, balance=_balance_out(account.value), balance_note=balance_note
    )
    return CallToolResult(
        content=[TextContent(type="text", text=_summary(result))],
        structured_content=result.model_dump(mode="json") if settings.structured_output else None,
    )


def _balance_out(account: Account | None) -> BalanceOut | None:
    if account is None:
        return None
    return BalanceOut(
        total_balance=account.total_balance,
        balance=account.balance,
        charge_balance=account.charge_balance,
        status=account.status,
    )


def _model_out(entry: DirectoryEntry, defaults: dict[DefaultFor, str]) -> ModelOut:
    default_for = [tool for tool, model in defaults.items() if entry.id == model]
    info = entry.info
    if info is None:
        return ModelOut(
            id=entry.id,
            description="Listed by the provider; capabilities unknown to this server (arguments are sent unchanged).",
            capabilities=list(entry.capabilities),
            known=False,
            max_input_images=None,
            arguments=None,
            recommended_sizes=None,
            aspect_ratios=None,
            defaults=None,
            max_batch_size=None,
            default_for=default_for,
        )
    return ModelOut(
        id=entry.id,
        description=info.description,
        capabilities=list(info.capabilities),
        known=True,
        max_input_images=info.max_input_images,
        arguments=[name for name in GENERATION_ARGUMENTS if name in info.arguments],
        recommended_sizes=list(info.recommended_sizes),
        aspect_ratios=dict(info.family.aspect_ratios),
        defaults={name: float(value) for name, value in info.family.defaults.items()},
        max_batch_size=None if info.makes_video else MAX_BATCH_SIZE,
        native_batch=None if info.makes_video else info.family.native_batch,
        default_for=default_for,
    )


def _summary(result: ModelListResult) -> str:
    heading = "Models (live from the provider):" if result.source == "live" else "Models (built-in):"
    lines = [heading]
    for model in result.models:
        default = f" [default for {', '.join(model.default_for)}]" if model.default_for else ""
        lines.append(f"- {model.id} ({', '.join(model.capabilities)}){default}: {model.description}")
        if model.known:
            lines.append(
                f"  sizes: {', '.join(model.recommended_sizes or [])}; args: {', '.join(model.arguments or [])}"
            )
    if result.note:
        lines.append(f"Note: {result.note}")
    if result.balance is not None:
        status = f" (account {result.balance.status})" if result.balance.status else ""
        lines.append(f"Account balance: {result.balance.total_balance}{status}.")
    if result.balance_note:
        lines.append(result.balance_note)
    return "\n".join(lines)
