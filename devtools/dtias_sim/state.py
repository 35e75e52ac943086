"""The simulator's state and behaviour, free of HTTP: tokens, inventory, resource groups, jobs and the test knobs.

`server.py` turns requests into calls here and `SimError`s into DTIAS's `GooglerpcStatus` error bodies. The state
is saved to `<state-dir>/dtias-sim.json` after every change, so a restarted simulator keeps its resource groups.
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools.dtias_sim.fleet import TENANT, seed

# gRPC status codes, as DTIAS's `code` carries them
INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, UNAVAILABLE, UNAUTHENTICATED = 3, 5, 6, 9, 14, 16
CLIENT_ID = "dtias-client"


class SimError(Exception):
    """A refusal in DTIAS's shape: HTTP status, gRPC code, message, DTIAS error code and resolution."""

    def __init__(self, status: int, code: int, message: str, dtias_code: str, resolution: str = "") -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.dtias_code, self.resolution = (status, code, message, dtias_code,
                                                                                   resolution)


@dataclass
class Job:
    id: str
    action: str  # create | delete
    group_id: str
    start_time: str
    status: str = "pending"
    fail_reason: str = ""
    forced_failure: str | None = None


@dataclass
class Knobs:
    down: bool = False
    fail_next_job: str | None = None
    token_seconds: int = 300
    job_steps: int = 2  # job GETs until a job ends (pending -> started -> completed|failed)


@dataclass
class State:
    data: dict[str, Any]
    username: str
    password: str
    path: Path | None = None
    knobs: Knobs = field(default_factory=Knobs)
    tokens: dict[str, float] = field(default_factory=dict)  # access token -> expiry (epoch seconds)
    refresh_tokens: dict[str, float] = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)
    job_polls: dict[str, int] = field(default_factory=dict)
    grants: dict[str, int] = field(default_factory=dict)  # tokens issued per grant type, for tests
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(cls, state_dir: Path | None, username: str, password: str) -> State:
        path = state_dir / "dtias-sim.json" if state_dir else None
        data = json.loads(path.read_text()) if path and path.is_file() else seed()
        return cls(data, username, password, path)

    def save(self) -> None:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(".tmp")
            temporary.write_text(json.dumps(self.data))
            temporary.replace(self.path)

    # --- identity -------------------------------------------------------------------------------------------------

    def issue_token(self, body: dict[str, Any]) -> dict[str, Any]:
        grant = body.get("grant_type")
        if body.get("client_id") != CLIENT_ID:
            raise SimError(401, UNAUTHENTICATED, "invalid client", "DELL-DTIAS-IAM-20015", "Check client_id.")
        if grant == "password":
            if (body.get("username"), body.get("password")) != (self.username, self.password):
                raise SimError(401, UNAUTHENTICATED, "Invalid user credentials", "DELL-DTIAS-IAM-20016",
                               "Check the user name and password.")
        elif grant == "refresh_token":
            if self.refresh_tokens.get(str(body.get("refresh_token")), 0) <= time.time():
                raise SimError(401, UNAUTHENTICATED, "Token is not active", "DELL-DTIAS-IAM-20017",
                               "Log in again with the password grant.")
        else:
            raise SimError(400, INVALID_ARGUMENT, f"unsupported grant_type {grant!r}", "DELL-DTIAS-IAM-20010")
        self.grants[str(grant)] = self.grants.get(str(grant), 0) + 1
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        lifetime = self.knobs.token_seconds
        self.tokens[access] = time.time() + lifetime
        self.refresh_tokens[refresh] = time.time() + 6 * lifetime
        return {"access_token": access, "token_type": "Bearer", "expires_in": lifetime, "refresh_token": refresh,
                "refresh_expires_in": 6 * lifetime, "id_token": "", "scope": "openid profile",
                "session_state": secrets.token_hex(8)}

    def check_token(self, authorization: str | None) -> None:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise SimError(401, UNAUTHENTICATED, "missing bearer token", "DELL-DTIAS-IAM-20001",
                           "Send Authorization: Bearer <access_token>.")
        if self.tokens.get(token, 0) <= time.time():
            raise SimError(401, UNAUTHENTICATED, "token expired or invalid", "DELL-DTIAS-IAM-20002",
                           "Obtain a new token from the token endpoint.")

    def expire_tokens(self) -> None:
        """Knob: every access token issued so far expires now (refresh tokens stay valid)."""
        self.tokens = dict.fromkeys(self.tokens, 0.0)

    @staticmethod
    def check_tenant(tenant: str) -> None:
        if tenant != TENANT:
            raise SimError(404, NOT_FOUND, f"tenant {tenant} not found", "DELL-DTIAS-TNT-10004",
                           "Use a tenant the user belongs to.")

    # --- inventory ------------------------------------------------------------------------------------------------

    def server(self, server_id: str) -> dict[str, Any]:
        for server in self.data["servers"]:
            if server["metadata"]["uid"] == server_id or server["metadata"]["name"] == server_id:
                return dict(server)
        raise SimError(404, NOT_FOUND, f"server {server_id} not found", "DELL-DTIAS-INV-30004")

    def servers(self, query: dict[str, str]) -> list[dict[str, Any]]:
        allocated = query.get("allocated", "NONE").upper()
        found = [s for s in self.data["servers"] if not s["IsDeleted"]]
        if query.get("site"):
            found = [s for s in found if query["site"] in (s["Site"], self._site_name(s["Site"]))]
        if query.get("resourcePool"):
            found = [s for s in found if s["ResourcePool"] == query["resourcePool"]]
        if allocated in ("TRUE", "FALSE"):
            found = [s for s in found if s["Allocated"] is (allocated == "TRUE")]
        return found

    def _site_name(self, site_id: str) -> str:
        return next((s["Name"] for s in self.data["sites"] if s["Id"] == site_id), "")

    def set_server(self, server_id: str, health: str | None, power: str | None) -> dict[str, Any]:
        """Knob: change a server's rolled-up health and/or power state."""
        with self.lock:
            server = next((s for s in self.data["servers"] if server_id in (s["metadata"]["uid"],
                                                                               s["metadata"]["name"])), None)
            if server is None:
                raise SimError(404, NOT_FOUND, f"server {server_id} not found", "DELL-DTIAS-INV-30004")
            if health is not None:
                server["status"]["Health"] = health
            if power is not None:
                server["status"]["PowerState"] = power
            self.save()
            return copy.deepcopy(server)

    # --- resource groups and jobs ---------------------------------------------------------------------------------

    def group(self, group_id: str) -> dict[str, Any]:
        found: dict[str, Any] | None = next((g for g in self.data["groups"] if g["id"] == group_id), None)
        if found is None:
            raise SimError(404, NOT_FOUND, f"resource group {group_id} not found", "DELL-DTIAS-RG-40004")
        return found

    def create_group(self, body: dict[str, Any]) -> Job:
        group = body.get("resourceGroup")
        if not isinstance(group, dict) or not group.get("id") or not group.get("name"):
            raise SimError(400, INVALID_ARGUMENT, "resourceGroup with id and name is required", "DELL-DTIAS-RG-40001")
        selectors = group.get("resourceSelectors")
        if not isinstance(selectors, dict) or "worker" not in selectors:
            raise SimError(400, INVALID_ARGUMENT, "resourceSelectors must contain a 'worker' selector",
                           "DELL-DTIAS-RG-40002", "Add a worker selector (numResources may be 0).")
        for name, selector in selectors.items():
            if not isinstance(selector, dict) or not any(p["Id"] == selector.get("rpId") for p in self.data["pools"]):
                raise SimError(400, INVALID_ARGUMENT, f"selector {name}: unknown rpId", "DELL-DTIAS-RG-40003")
            count = selector.get("numResources")
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise SimError(400, INVALID_ARGUMENT, f"selector {name}: numResources must be >= 0",
                               "DELL-DTIAS-RG-40003")
        with self.lock:
            if any(g["id"] == group["id"] for g in self.data["groups"]):
                raise SimError(409, ALREADY_EXISTS, f"resource group {group['id']} already exists",
                               "DELL-DTIAS-RG-40009")
            stored = {"id": group["id"], "name": group["name"], "description": str(group.get("description", "")),
                      "resourceTypeId": str(group.get("resourceTypeId", "COMPUTE")),
                      "resourceSelectors": {n: {**s, "resources": []} for n, s in selectors.items()}}
            self.data["groups"].append(stored)
            self.save()
            return self._new_job("create", group["id"])

    def delete_group(self, group_id: str) -> Job:
        with self.lock:
            self.group(group_id)
            return self._new_job("delete", group_id)

    def _new_job(self, action: str, group_id: str) -> Job:
        job = Job(secrets.token_hex(8), action, group_id, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  forced_failure=self.knobs.fail_next_job)
        self.knobs.fail_next_job = None
        self.jobs[job.id] = job
        return job

    def poll_job(self, job_id: str) -> Job:
        """Each GET moves a running job one step; the last step applies (or fails) its change."""
        with self.lock:
            job = self.jobs.get(job_id)
            if job is None:
                raise SimError(404, NOT_FOUND, f"job {job_id} not found", "DELL-DTIAS-JOB-50004")
            if job.status in ("completed", "failed"):
                return job
            self.job_polls[job_id] = polls = self.job_polls.get(job_id, 0) + 1
            if polls < self.knobs.job_steps:
                job.status = "started"
                return job
            failure = job.forced_failure or (self._allocate(job.group_id) if job.action == "create" else None)
            if failure:
                job.status, job.fail_reason = "failed", failure
                if job.action == "create":
                    self._release(job.group_id)
            else:
                job.status = "completed"
                if job.action == "delete":
                    self._release(job.group_id)
            self.save()
            return job

    def _allocate(self, group_id: str) -> str | None:
        """Pick free servers for every selector; a reason when a pool cannot supply them (nothing is allocated)."""
        group = self.group(group_id)
        chosen: dict[str, list[dict[str, Any]]] = {}
        taken: set[str] = set()
        for name, selector in group["resourceSelectors"].items():
            wanted = {(label["Key"], label["Value"]) for label in
                      ((selector.get("filters") or {}).get("include") or {}).get("labels") or []}
            free = [s for s in self.data["servers"] if s["ResourcePool"] == selector["rpId"] and not s["Allocated"]
                    and not s["IsDeleted"] and s["metadata"]["uid"] not in taken
                    and wanted <= {(label["Key"], label["Value"]) for label in s["Labels"]}]
            if len(free) < selector["numResources"]:
                return (f"insufficient free resources in resource pool {selector['rpId']} for selector {name}: "
                        f"requested {selector['numResources']}, available {len(free)}")
            chosen[name] = free[: selector["numResources"]]
            taken |= {s["metadata"]["uid"] for s in chosen[name]}
        for name, servers in chosen.items():
            for server in servers:
                server["Allocated"] = True
            group["resourceSelectors"][name]["resources"] = [
                {"Id": s["metadata"]["uid"], "Name": s["metadata"]["name"], "ResourcePoolId": s["ResourcePool"],
                 "SiteId": s["Site"], "GlobalAssetId": s["status"]["SKU"], "ResType": "COMPUTE"} for s in servers]
        return None

    def _release(self, group_id: str) -> None:
        group = self.group(group_id)
        members = {r["Id"] for s in group["resourceSelectors"].values() for r in s.get("resources") or []}
        for server in self.data["servers"]:
            if server["metadata"]["uid"] in members:
                server["Allocated"] = False
        self.data["groups"].remove(group)
