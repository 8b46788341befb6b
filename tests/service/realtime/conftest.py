"""The live-server fixtures of the socket suite: every test in tests/service/realtime/ that
starts a server runs twice, with the transport patches of service/realtime/transport.py on (the
default) and off (`transport_patches=False`: python-engineio and aiohttp as they come)."""

from __future__ import annotations

import pytest

from tests.conftest import ServerFactory


@pytest.fixture(params=[True, False], ids=["patched", "unpatched"])
def transport_patches(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def server_factory(server_factory: ServerFactory, transport_patches: bool) -> ServerFactory:
    """The shared factory, with the transport patches on or off for every server it starts."""

    async def factory(**settings):
        settings.setdefault("transport_patches", transport_patches)
        return await server_factory(**settings)

    return factory
