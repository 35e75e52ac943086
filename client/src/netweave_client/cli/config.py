"""Where the CLI finds the gateway and its token. First that gives a value wins:

1. flags `--url`, `--token` (a token, or `@path` of a file holding one);
2. environment `NETWEAVE_URL`, `NETWEAVE_TOKEN`;
3. the profile (`--profile`, else `NETWEAVE_PROFILE`, else `default`) of the profile file
   (`NETWEAVE_CONFIG`, else `~/.config/netweave/profiles.yaml`):

       default: {url: "https://o2.example.net", tokenFile: ~/.netweave-token}
       lab:     {url: "http://127.0.0.1:8000", token: "eyJ..."}

4. inside a netweave checkout, the local stack: http://127.0.0.1:8000 and `.local/token`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netweave_client.auth import TokenProvider
from netweave_client.client import LOCAL_URL, Client, local_token_file

# Tests replace the network and time here (`transport`, `sleep`: see Client); nothing else sets it.
CLIENT_OPTIONS: dict[str, Any] = {}


@dataclass(frozen=True)
class Settings:
    url: str | None = None
    token: str | None = None
    profile: str | None = None


def profile_file() -> Path:
    return Path(os.environ.get("NETWEAVE_CONFIG") or Path.home() / ".config" / "netweave" / "profiles.yaml")


def _profile(name: str | None) -> dict[str, Any]:
    path = profile_file()
    if not path.is_file():
        if name:
            raise ValueError(f"profile {name!r} asked for, but {path} does not exist")
        return {}
    import yaml

    profiles = yaml.safe_load(path.read_text()) or {}
    chosen = name or os.environ.get("NETWEAVE_PROFILE") or "default"
    if chosen not in profiles:
        if name:
            raise ValueError(f"no profile {name!r} in {path}")
        return {}
    return dict(profiles[chosen])


def _token(value: str) -> str | Path:
    return Path(value[1:]).expanduser() if value.startswith("@") else value


def resolve(settings: Settings) -> tuple[str, str | Path | TokenProvider | None]:
    profile = _profile(settings.profile)
    url = settings.url or os.environ.get("NETWEAVE_URL") or profile.get("url") or LOCAL_URL
    token_value = settings.token or os.environ.get("NETWEAVE_TOKEN")
    if token_value:
        return url, _token(token_value)
    if profile.get("token"):
        return url, str(profile["token"])
    if profile.get("tokenFile"):
        return url, Path(str(profile["tokenFile"])).expanduser()
    return url, local_token_file()


def connect(settings: Settings) -> Client:
    url, token = resolve(settings)
    return Client(url, token, **CLIENT_OPTIONS)
