"""One tool call or resource read as its caller sees the server, built once from the request.

The `Runtime` is shared for the server's life; everything that depends on who is calling lives here:
the principal (hosted mode: a name from SILICONFLOW_MCP_TOKENS_FILE; None over stdio and for the server's
own token), the provider key the call spends (the server's, or the caller's own `X-SiliconFlow-Api-Key`),
the store view of that principal's own images, a provider client bound to that key, what edit inputs may
read, and redaction of both keys. Nothing here outlives the call, and the caller's key is kept nowhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import anyio

from mcp_server_siliconflow_image.credentials import redact
from mcp_server_siliconflow_image.hosting.tenants import CALLER_KEY_NAME, Caller, caller_of
from mcp_server_siliconflow_image.pipeline.inputs import InputPolicy
from mcp_server_siliconflow_image.provider.client import ProviderClient, ProviderKey
from mcp_server_siliconflow_image.provider.live import LiveCache
from mcp_server_siliconflow_image.provider.video import VideoClient
from mcp_server_siliconflow_image.runtime import Runtime
from mcp_server_siliconflow_image.settings import Settings
from mcp_server_siliconflow_image.stores.base import Store


@dataclass(frozen=True)
class CallContext:
    """What one call may use and spend, by who is calling; built per call, never shared between callers."""

    runtime: Runtime
    principal: str | None
    key: ProviderKey
    store: Store
    """The caller's own images: its principal's folder or prefix, or the server's store."""
    inputs: InputPolicy

    @classmethod
    def for_request(cls, runtime: Runtime, request: object | None) -> CallContext:
        """The context of the call behind `request` (None over stdio and in memory).

        Raises CallerError for an `X-SiliconFlow-Api-Key` header that cannot be a key.
        """
        return cls.for_caller(runtime, caller_of(request))

    @classmethod
    def for_caller(cls, runtime: Runtime, caller: Caller) -> CallContext:
        settings = runtime.settings
        key = ProviderKey(settings.api_key) if caller.api_key is None else ProviderKey(caller.api_key, CALLER_KEY_NAME)
        if caller.principal is None:
            store = runtime.store
            allowed_dirs = settings.allowed_input_dirs()
        else:
            store = runtime.store.for_principal(caller.principal)
            allowed_dirs = ()  # the host's folders hold every principal's images: its own are read via `store`
        return cls(runtime, caller.principal, key, store, InputPolicy(allowed_dirs, store, caller.principal))

    @property
    def settings(self) -> Settings:
        """The server's settings; the key this call spends is `key`, not `settings.api_key`."""
        return self.runtime.settings

    @property
    def live(self) -> LiveCache:
        return self.runtime.live

    @property
    def preview_workers(self) -> anyio.CapacityLimiter:
        return self.runtime.preview_workers

    @cached_property
    def provider(self) -> ProviderClient:
        """The provider as this call's key sees it, over the shared pool (made on a call's first need of it)."""
        return ProviderClient(self.settings, self.runtime.http, self.key)

    @cached_property
    def video(self) -> VideoClient:
        """The provider's video endpoints as this call's key sees them (the same pool and key as `provider`)."""
        return VideoClient(self.settings, self.runtime.http, self.key)

    def redact(self, text: str) -> str:
        """`text` safe to log or return: without URL passwords, the server's secrets or this caller's key."""
        return self.key.redact(redact(text, self.settings.secret_values()))
