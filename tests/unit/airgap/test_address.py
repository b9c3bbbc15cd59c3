"""Registry address parsing and the loopback-only plain-HTTP rule."""

from __future__ import annotations

import pytest

from refs.address import RegistryAddress, is_loopback, parse_address
from refs.errors import AddressError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("registry.corp", RegistryAddress("registry.corp", None, "")),
        ("registry.corp:5000", RegistryAddress("registry.corp", 5000, "")),
        ("registry.corp:5000/outpost/prod", RegistryAddress("registry.corp", 5000, "outpost/prod")),
        ("10.0.0.7/mirror/", RegistryAddress("10.0.0.7", None, "mirror")),
        ("[fd00::1]:443/x", RegistryAddress("[fd00::1]", 443, "x")),
    ],
)
def test_address_forms_parse(text: str, expected: RegistryAddress) -> None:
    assert parse_address(text) == expected


def test_repository_and_netloc_include_the_prefix_and_port() -> None:
    address = parse_address("registry.corp:5000/outpost")
    assert address.repository("acme/api") == "outpost/acme/api"
    assert address.base_url == "https://registry.corp:5000"
    assert str(address) == "registry.corp:5000/outpost"


@pytest.mark.parametrize(
    "text",
    ["https://registry.corp", "user:pw@registry.corp", "registry.corp:99999", "reg.corp/Upper", ""],
)
def test_bad_addresses_are_refused_with_the_expected_form(text: str) -> None:
    with pytest.raises(AddressError, match=r"HOST|port|prefix component"):
        parse_address(text)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "localhost", "[::1]"])
def test_plain_http_is_allowed_for_loopback(host: str) -> None:
    assert is_loopback(host)
    assert parse_address(f"{host}:5000", insecure_http=True).scheme == "http"


@pytest.mark.parametrize("host", ["registry.corp", "10.0.0.7", "[fd00::1]"])
def test_plain_http_is_refused_for_other_hosts(host: str) -> None:
    with pytest.raises(AddressError, match="only allowed for a loopback registry"):
        parse_address(f"{host}:5000", insecure_http=True)
