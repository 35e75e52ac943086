"""Settings from the environment and gateway.yaml: what an operator configures and gets."""

from collections.abc import Callable
from pathlib import Path

import pytest

from chalicelib import resources
from chalicelib.domain.errors import ConfigurationError
from chalicelib.settings import load_gateway_config, settings_from_environment


def test_project_gateway_yaml_loads_with_defaults(tmp_path: Path) -> None:
    settings = settings_from_environment({"KUBECONFIG": "/tmp/kc", "NETWEAVE_AUTH_SECRET": "s"})
    assert settings.gateway.ims_adapters[0].options["kubeconfig"] == "/tmp/kc"
    assert settings.auth.algorithms == ("HS256",)
    assert settings.stage == "dev"


def test_env_references_with_defaults_are_expanded(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text("oCloud:\n  name: ${SITE_NAME:-fallback}\n  description: ${SITE_DESC}\n")
    config = load_gateway_config(path)
    assert config.o_cloud.name == "fallback"
    assert config.o_cloud.description == ""


def test_ocloud_id_is_stable_and_derived_from_the_name_when_not_configured(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text("oCloud:\n  name: edge-site-7\n")
    first = load_gateway_config(path).o_cloud.resolved_o_cloud_id()
    assert first == load_gateway_config(path).o_cloud.resolved_o_cloud_id()
    path.write_text("oCloud:\n  name: edge-site-8\n")
    assert load_gateway_config(path).o_cloud.resolved_o_cloud_id() != first


def test_configured_ids_win(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text("oCloud:\n  oCloudId: 0b0e8a8e-7d57-4bb2-9b62-0b1b5d3b9a11\n  globalCloudId: smo-assigned-1\n")
    o_cloud = load_gateway_config(path).o_cloud
    assert o_cloud.resolved_o_cloud_id() == "0b0e8a8e-7d57-4bb2-9b62-0b1b5d3b9a11"
    assert o_cloud.resolved_global_cloud_id() == "smo-assigned-1"


@pytest.mark.parametrize(
    "text",
    [
        "oCloud: [unclosed\n",
        "imsAdapters:\n  - id: Bad Id\n    type: kubernetes\n",
        "unknownKey: 1\n",
        "oCloud:\n  oCloudId: not-a-uuid\n",
    ],
)
def test_broken_gateway_config_is_a_configuration_error_naming_the_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(text)
    with pytest.raises(ConfigurationError, match=r"gateway\.yaml"):
        load_gateway_config(path)


def test_jwks_url_selects_asymmetric_algorithms() -> None:
    settings = settings_from_environment({"NETWEAVE_AUTH_JWKS_URL": "https://idp/jwks"})
    assert settings.auth.algorithms == ("RS256",)
    assert settings.auth.jwks_url == "https://idp/jwks"


def test_physical_names_follow_the_stage() -> None:
    settings = settings_from_environment({"NETWEAVE_STAGE": "prod"})
    assert settings.table_name(resources.SUBSCRIPTIONS) == "netweave-prod-subscriptions"
    assert settings.queue_name(resources.DELIVERIES) == "netweave-prod-deliveries.fifo"
    assert settings.queue_name(resources.DELIVERIES, dead_letter=True) == "netweave-prod-deliveries-dlq.fifo"
    assert settings_from_environment({"NETWEAVE_PACKAGES_BUCKET": "b1"}).bucket_name(resources.PACKAGES_BUCKET) == "b1"


def _no_secret_store(name: str) -> str:
    raise AssertionError(f"read {name}")


def test_the_marker_key_is_the_marker_secret_or_the_stacks_else_derived_from_the_auth_secret_else_from_the_identity(
) -> None:
    def key(env: dict[str, str], read_secret: Callable[[str], str] = _no_secret_store) -> bytes:
        return settings_from_environment(env).marker_key(read_secret)

    assert key({"NETWEAVE_MARKER_SECRET": "m", "NETWEAVE_AUTH_SECRET": "a"}) == b"m"
    # a deployed stage: the infra stack's generated marker secret, read through Parameter Store
    stack = {"NETWEAVE_MARKER_SECRET_SSM_PARAMETER": "/aws/reference/secretsmanager/netweave/prod/marker-secret",
             "NETWEAVE_AUTH_SECRET": "a"}
    assert key(stack, {stack["NETWEAVE_MARKER_SECRET_SSM_PARAMETER"]: "generated"}.__getitem__) == b"generated"
    from_auth = key({"NETWEAVE_AUTH_SECRET": "a"})
    assert from_auth != b"a" and len(from_auth) == 32  # derived: a marker key never is the token key
    assert key({"NETWEAVE_AUTH_SECRET_SSM_PARAMETER": "/p"}, lambda name: "a") == from_auth
    identity = key({"NETWEAVE_AUTH_JWKS_URL": "https://idp/jwks"})
    assert identity not in (from_auth, key({"NETWEAVE_AUTH_JWKS_URL": "https://idp/jwks", "NETWEAVE_STAGE": "prod"}))
    assert "secret-value" not in repr(settings_from_environment({"NETWEAVE_MARKER_SECRET": "secret-value"}))
