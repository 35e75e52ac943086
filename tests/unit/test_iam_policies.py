"""The hand-written IAM policies (`.chalice/policy-<stage>-<group>.json`) grant exactly what the code uses.

The code side is found statically, with `ast`, in `app.py` and `chalicelib/`:

1. **boto3 calls.** A call `<receiver>.<method>(...)` is an AWS call when its receiver is a boto3 client:
   an attribute named like a service (`clients.sqs`, `parts.clients.dynamodb`: the properties of
   `chalicelib/adapters/aws_clients.py`, whose service is read from their own `client("...")` call),
   `<session>.client("svc")`, a name or attribute spelled like a service (`sqs`, `self.s3`, `….eks`, `sts`, …), or a
   generic `client`/`self.client` in a module listed in `GENERIC_CLIENTS` (a documented module -> service table: the
   stores hold a DynamoDB client, the queue adapters an SQS client, the poll trigger an EventBridge client). The method
   must be an operation of that service in botocore's own service model (so `events.append` on a list is not one);
   `get_paginator("x")` is operation `x`. A generic client call in a module *not* in the table that names an
   operation of a service netweave uses fails the test, so a new adapter cannot slip past it.
2. **IAM actions.** Operation name = IAM action, except the documented `ACTION_EXCEPTIONS` (SQS batch calls are
   authorised as their single-message action; a DynamoDB transaction needs the item actions of what it contains:
   PutItem/UpdateItem/DeleteItem/ConditionCheckItem, found from the `"Put"`/`"Update"`/... keys of the method and of
   the methods of its class it calls, else of its whole class).
   `IMPLIED_ACTIONS` adds what a call needs besides itself (CreateNodegroup: `iam:PassRole` on the node role and
   `eks:TagResource` for its tags; an SSM `GetParameter` of a `/aws/reference/secretsmanager/...` name needs
   `secretsmanager:GetSecretValue`). SQS-triggered functions also need what Lambda's poller does with their role
   (`ReceiveMessage`, `DeleteMessage`, `GetQueueAttributes` on the trigger queue), and every function its logs.
3. **Reachability** (an approximation, on purpose simple): units are module bodies and functions/methods (a nested
   function belongs to the function around it). A function's entry is its handler body in `app.py`; the API's is
   app.py's module body plus every `@router.route` / `@router.raw_route` view. From a reached unit: an `import` loads
   a module; a name or attribute it mentions reaches every module-level function of that name in a loaded module and
   every method of that name of a class it has reached (rapid type analysis); a class is reached when its name is
   mentioned (annotations do not count) or named in an adapter registry string (`"chalicelib.x:Class"`) that a
   reached unit reads; dunder methods and methods named in strings handed to a call (`_tell(observer, "raised")` ->
   `getattr(observer, what)`) of a reached class are reached too. To keep `dict.get` from reaching every `get`:
   `self.m` means a method of the unit's own class (or a base, or a class deriving from it: a mixin); a name a
   function binds itself (parameter, assignment, loop) is a local, not a reference; and a method called on a builtin
   value (a literal, a boto3 reply, a parameter annotated `dict[...]`, the result of a function annotated to return
   one, a module constant holding one, an attribute of a module that is not ours such as `os.environ`) mentions
   nothing.
4. **Resources.** The table/queue/bucket a call touches comes from the `resources.X` references of the unit making
   it; failing those, for a method, from the units that construct its class (`Components.inventory_store` builds
   `InventoryStore` with `resources.INVENTORY`); for a plain function, from the references of its whole module
   (ports objects built in one function, used in another), else from the units that construct a ports class its
   module defines (`Components.delivery_ports` builds `DeliveryPorts` with the deliveries queue and its DLQ), else
   from its reached callers. The composition root and the clients it holds (`HUBS`) build everything, so their
   units always take their resources from their reached callers (`self.queue_url(resources.EVENTS)`). A reference inside
   a call with `dead_letter=True` means the DLQ; `resources.QUEUES`/`TABLES` mean all of them, except inside a
   filtered comprehension (a lookup such as `next(q for q in QUEUES if ...)`). An SQS call whose `QueueUrl` is a name
   containing `dead_letter` touches only DLQs, one named `queue_url` only main queues. A `query`/`scan` in a
   method that names an `IndexName` (or is called by one of its class that does) also needs the table's `/index/*`
   ARN. Other services (EKS, EC2, STS, EventBridge, SSM) are checked per action; their ARN patterns are documented
   in `NON_TABLE_RESOURCES`.

Per function group (one policy file), the policy must cover every (action, resource) its functions reach, except
the few documented `ANALYSIS_WAIVERS` where the analysis over-approximates, and grant nothing beyond them. Dev and
prod policies must differ only in the stage name.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from chalicelib import resources

ROOT = Path(__file__).resolve().parents[2]
CHALICE_DIR = ROOT / ".chalice"
STAGES = ("dev", "prod")
API_FUNCTION = "api_handler"

# Function -> policy group (file `.chalice/policy-<stage>-<group>.json`). Both inventory pollers run the same code.
GROUPS: dict[str, str] = {
    API_FUNCTION: "api",
    "poll_inventory": "poll-inventory",
    "poll_inventory_on_change": "poll-inventory",
    "fan_out": "fan-out",
    "deliver": "deliver",
    "run_dms_operation": "dms-operation",
    "poll_deployments": "deployment-poll",
}

# A `client` / `self.client` receiver means this service in these modules (prefix match on the module name).
GENERIC_CLIENTS: dict[str, str] = {
    "chalicelib.adapters.store.": "dynamodb",
    "chalicelib.adapters.queue.": "sqs",
    "chalicelib.adapters.poll_trigger": "events",
}
GENERIC_RECEIVERS = {"client", "_client"}
SERVICE_RECEIVERS = {"sqs", "s3", "ssm", "eks", "ec2", "sts", "events", "dynamodb"}

# Operation -> IAM actions where they differ (AWS service authorisation reference).
ACTION_EXCEPTIONS: dict[str, tuple[str, ...]] = {
    "sqs:SendMessageBatch": ("sqs:SendMessage",),
    "sqs:DeleteMessageBatch": ("sqs:DeleteMessage",),
    "sqs:ChangeMessageVisibilityBatch": ("sqs:ChangeMessageVisibility",),
    "dynamodb:TransactGetItems": ("dynamodb:GetItem",),
    "s3:HeadObject": ("s3:GetObject",),
    "s3:ListObjectsV2": ("s3:ListBucket",),
    "s3:DeleteObjects": ("s3:DeleteObject",),
}
TRANSACTION_ITEM_ACTIONS = {"Put": "dynamodb:PutItem", "Update": "dynamodb:UpdateItem",
                            "Delete": "dynamodb:DeleteItem", "ConditionCheck": "dynamodb:ConditionCheckItem"}
IMPLIED_ACTIONS: dict[str, tuple[str, ...]] = {
    "eks:CreateNodegroup": ("iam:PassRole", "eks:TagResource"),
    "ec2:CreateLaunchTemplate": ("ec2:CreateTags",),  # its TagSpecifications (the cpuPinning template's marker)
    "ssm:GetParameter": ("secretsmanager:GetSecretValue",),
}
EVENT_SOURCE_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
LOG_ACTIONS = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")

# The ARNs granted for services whose resources are not in resources.py ({stage} = the stage). "*" only where the
# action has no resource-level permissions (EKS list, EC2 describe).
NON_TABLE_RESOURCES: dict[str, tuple[str, ...]] = {
    "eks:ListClusters": ("*",),
    "eks:DescribeCluster": ("arn:aws:eks:*:*:cluster/*",),
    "eks:ListNodegroups": ("arn:aws:eks:*:*:cluster/*",),
    "eks:DescribeNodegroup": ("arn:aws:eks:*:*:nodegroup/*/*/*",),
    "eks:CreateNodegroup": ("arn:aws:eks:*:*:cluster/*",),
    "eks:UpdateNodegroupConfig": ("arn:aws:eks:*:*:nodegroup/*/*/*",),
    "eks:DeleteNodegroup": ("arn:aws:eks:*:*:nodegroup/*/*/*",),
    "eks:TagResource": ("arn:aws:eks:*:*:nodegroup/*/*/*",),
    "iam:PassRole": ("arn:aws:iam::*:role/*",),
    "ec2:CreateLaunchTemplate": ("arn:aws:ec2:*:*:launch-template/*",),
    "ec2:DeleteLaunchTemplate": ("arn:aws:ec2:*:*:launch-template/*",),
    "ec2:CreateTags": ("arn:aws:ec2:*:*:launch-template/*",),
    "ec2:DescribeInstances": ("*",),
    "ec2:DescribeInstanceTypes": ("*",),
    "sts:AssumeRole": ("arn:aws:iam::*:role/netweave-*",),
    "events:PutEvents": ("arn:aws:events:*:*:event-bus/default",),
    "ssm:GetParameter": ("arn:aws:ssm:*:*:parameter/netweave/{stage}/*",
                         "arn:aws:ssm:*:*:parameter/aws/reference/secretsmanager/netweave/{stage}/*"),
    "secretsmanager:GetSecretValue": ("arn:aws:secretsmanager:*:*:secret:netweave/{stage}/*",),
}

# (group, action, resource) the analysis demands but the code never needs, with the reason it cannot tell.
ANALYSIS_WAIVERS: dict[tuple[str, str, str], str] = {
    ("api", "sqs:ReceiveMessage", "queue:deliveries"):
        "dead_letters._receive(sqs, url) reads only the DLQ; the caller also names the main queue (replay target)",
    ("api", "sqs:ChangeMessageVisibility", "queue:deliveries"):
        "dead_letters._release(sqs, url) releases DLQ messages only; same caller as above",
    ("poll-inventory", "dynamodb:Query", "table:subscriptions"):
        "services/sites._all pages the InventoryStore it is given; the name `page` also reaches SubscriptionStore",
    ("poll-inventory", "dynamodb:Query", "index:subscriptions"): "as above",
}

REGISTRY_STRING = re.compile(r"^(chalicelib(?:\.\w+)+):(\w+)$")  # "module:Class" as adapter registries name them
Resource = str  # "table:inventory", "index:inventory", "queue:events", "queue:events-dlq", "bucket:packages", "any"
Demand = tuple[str, Resource]
Factories = dict[str, tuple[str, str]]  # aws_clients.py property name -> (service, "client" or "resource")


# ---- the code: units, calls, references ---------------------------------------------------------------------------

@dataclass(frozen=True)
class BotoCall:
    service: str
    operation: str  # PascalCase, from botocore's model
    queue_hint: str | None  # "dlq", "main" or None (from the QueueUrl argument's name)
    line: int


@dataclass
class Unit:
    module: str
    name: str  # "" for the module body, "f" or "Class.f"
    cls: str | None = None
    route: bool = False
    imports: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    self_names: set[str] = field(default_factory=set)
    strings: set[str] = field(default_factory=set)
    resources: set[Resource] = field(default_factory=set)
    calls: list[BotoCall] = field(default_factory=list)
    mentions_index: bool = False  # an `IndexName` key or keyword: its queries may read a GSI
    transaction_keys: set[str] = field(default_factory=set)  # "Put", "Update", ... dict keys: transaction items
    registry: dict[str, set[str]] = field(default_factory=dict)  # module constant -> "chalicelib.x:Class" strings

    @property
    def key(self) -> tuple[str, str]:
        return self.module, self.name

    @property
    def short(self) -> str:
        return self.name.rsplit(".", 1)[-1]


@dataclass
class ClassInfo:
    module: str
    name: str
    bases: list[str]
    methods: set[str]
    transaction_keys: set[str]


@dataclass
class Code:
    units: dict[tuple[str, str], Unit]
    classes: dict[tuple[str, str], ClassInfo]
    modules: set[str]
    factories: Factories
    plain_returns: set[str]


def _module_name(path: Path) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def _sources() -> dict[str, ast.Module]:
    files = [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]
    return {_module_name(path): ast.parse(path.read_text(), str(path)) for path in files}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _children(node: ast.AST) -> Iterator[ast.AST]:
    """Child nodes, without annotations (never evaluated: every module uses `from __future__ import annotations`)
    and without `if TYPE_CHECKING:` bodies."""
    for name, value in ast.iter_fields(node):
        if name in ("annotation", "returns"):
            continue
        if isinstance(node, ast.If) and name == "body" and _is_type_checking(node.test):
            continue
        items = value if isinstance(value, list) else [value]
        yield from (item for item in items if isinstance(item, ast.AST))


def _walk(roots: Iterable[ast.AST]) -> Iterator[ast.AST]:
    stack = list(roots)
    while stack:
        node = stack.pop()
        yield node
        stack.extend(_children(node))


def _module_body_nodes(statements: list[ast.stmt]) -> Iterator[ast.AST]:
    """What runs when a module is imported: not function bodies (only their decorators and defaults)."""
    for statement in statements:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            yield from statement.decorator_list
            yield from (d for d in [*statement.args.defaults, *statement.args.kw_defaults] if d is not None)
        elif isinstance(statement, ast.ClassDef):
            yield from statement.decorator_list
            yield from statement.bases
            yield from _module_body_nodes(statement.body)
        elif isinstance(statement, ast.If) and _is_type_checking(statement.test):
            yield from _module_body_nodes(statement.orelse)
        else:
            yield statement


def _is_route(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr in ("route", "raw_route")
               for d in function.decorator_list)


def _client_factories(tree: ast.Module) -> dict[str, tuple[str, str]]:
    """`sqs` -> ("sqs", "client"): the properties of aws_clients.py that return a boto3 client or resource."""
    found: dict[str, tuple[str, str]] = {}
    members = [s for c in tree.body if isinstance(c, ast.ClassDef) for s in c.body]
    for statement in [*tree.body, *members]:
        if not isinstance(statement, ast.FunctionDef):
            continue
        for node in ast.walk(statement):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("client", "resource") and node.args
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
                    and isinstance(statement.body[-1], ast.Return)):
                found[statement.name] = (node.args[0].value, node.func.attr)
    return found


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _terminal_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


@cache
def _operations(service: str) -> dict[str, str]:
    """snake_case method -> PascalCase operation, from botocore's service model."""
    import botocore.session
    from botocore import xform_name

    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(name): name for name in model.operation_names}


def _receiver_service(receiver: ast.AST, module: str, factories: Factories) -> tuple[str | None, bool]:
    """(service of the client `receiver` evaluates to, whether the mapping is certain)."""
    if isinstance(receiver, ast.Attribute) and receiver.attr == "client" and isinstance(receiver.value, ast.Attribute) \
            and receiver.value.attr == "meta":
        receiver = receiver.value.value  # resource.meta.client
    if isinstance(receiver, ast.Call):
        return _created_client_service(receiver, factories)
    name = _terminal_name(receiver)
    if name in SERVICE_RECEIVERS:
        return name, False
    if name not in GENERIC_RECEIVERS:
        return None, False
    services = [service for prefix, service in GENERIC_CLIENTS.items() if module.startswith(prefix)]
    return (services[0], True) if services else ("?", False)


def _created_client_service(receiver: ast.Call, factories: Factories) -> tuple[str | None, bool]:
    """`session.client("sqs")`, `config.sqs()`, `config.dynamodb()` (a resource: its own methods are no operations)."""
    function = receiver.func
    if isinstance(function, ast.Attribute) and function.attr in ("client", "resource") and receiver.args:
        return _literal(receiver.args[0]), True
    service, kind = factories.get(_terminal_name(function) or "", (None, ""))
    return service, kind == "client"


def _queue_hint(call: ast.Call) -> str | None:
    for keyword in call.keywords:
        if keyword.arg == "QueueUrl":
            name = _terminal_name(keyword.value) or ""
            if "dead_letter" in name:
                return "dlq"
            if name == "queue_url":
                return "main"
    return None


def _boto_call(node: ast.Call, module: str, factories: Factories, used_services: set[str]) \
        -> BotoCall | None:
    if not isinstance(node.func, ast.Attribute):
        return None
    method, receiver = node.func.attr, node.func.value
    service, certain = _receiver_service(receiver, module, factories)
    if service is None:
        return None
    if service == "?":  # a generic `client` outside GENERIC_CLIENTS: must not be a boto3 client
        clashes = sorted(s for s in used_services if method in _operations(s))
        assert not clashes, (f"{module}:{node.lineno}: `client.{method}` looks like a {clashes} call; add the module "
                             "to GENERIC_CLIENTS in this test")
        return None
    if method == "get_paginator":
        method = _literal(node.args[0]) or "?"
    operation = _operations(service).get(method)
    if operation is None:
        assert not certain, f"{module}:{node.lineno}: {method} is no {service} operation"
        return None
    return BotoCall(service, operation, _queue_hint(node), node.lineno)


RESOURCE_CONSTANTS: dict[str, set[Resource]] = {
    **{name: {f"table:{value.logical_name}"} for name, value in vars(resources).items()
       if isinstance(value, resources.Table)},
    **{name: {f"queue:{value.logical_name}"} for name, value in vars(resources).items()
       if isinstance(value, resources.Queue)},
    **{name: {f"bucket:{value.logical_name}"} for name, value in vars(resources).items()
       if isinstance(value, resources.Bucket)},
    "TABLES": {f"table:{t.logical_name}" for t in resources.TABLES},
    "QUEUES": {f"queue:{q.logical_name}" for q in resources.QUEUES},
    "BUCKETS": {f"bucket:{b.logical_name}" for b in resources.BUCKETS},
}
COLLECTIONS = {"TABLES", "QUEUES", "BUCKETS"}


def _resource_refs(nodes: list[ast.AST]) -> set[Resource]:
    """`resources.X` references among `nodes` (all descendants), DLQs for those inside a `dead_letter=True` call."""
    variables: dict[str, set[Resource]] = {}  # local names assigned from a resources reference
    found: set[Resource] = set()
    dead_letter_nodes: set[int] = set()
    lookups: set[int] = set()
    all_nodes = list(_walk(nodes))
    for node in all_nodes:
        if isinstance(node, ast.Call) and any(k.arg == "dead_letter" and isinstance(k.value, ast.Constant)
                                              and k.value.value is True for k in node.keywords):
            dead_letter_nodes.update(id(n) for arg in node.args for n in _walk([arg]))
        if isinstance(node, ast.GeneratorExp | ast.ListComp | ast.SetComp) and any(g.ifs for g in node.generators):
            lookups.update(id(n) for g in node.generators for n in _walk([g.iter]))
    for node in all_nodes:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            refs = {r for n in _walk([node.value]) for r in _constant(n)}
            if refs:
                variables[node.targets[0].id] = refs
    for node in all_nodes:
        refs = _constant(node)
        if refs and isinstance(node, ast.Attribute) and node.attr in COLLECTIONS and id(node) in lookups:
            continue
        if not refs and isinstance(node, ast.Name) and id(node) in dead_letter_nodes:
            refs = variables.get(node.id, set())
        if id(node) in dead_letter_nodes:
            refs = {f"{r}-dlq" for r in refs if r.startswith("queue:")}
        found |= refs
    return found


def _constant(node: ast.AST) -> set[Resource]:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "resources":
        return RESOURCE_CONSTANTS.get(node.attr, set())
    return set()


PLAIN_TYPES = {"dict", "list", "set", "frozenset", "tuple", "str", "bytes", "int", "float", "bool", "Mapping",
               "MutableMapping", "Sequence", "Iterable", "Iterator"}
PLAIN_CALLS = {"dict", "list", "set", "tuple", "str", "sorted", "loads", "dumps"}


PLAIN_LITERALS = (ast.Dict, ast.List, ast.Set, ast.Tuple, ast.Constant, ast.JoinedStr, ast.DictComp, ast.ListComp,
                  ast.SetComp)


def _is_plain(node: ast.AST, plain: set[str]) -> bool:
    """Whether an expression is a builtin value (a dict, list, string, ...), a boto3 reply, or rooted in a module
    that is not ours: a method called on it is none of ours (`filters.get(...)`, `os.environ.get(...)`)."""
    if isinstance(node, ast.Name):
        return node.id in plain
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
        return f"self.{node.attr}" in plain
    if isinstance(node, ast.Call):
        name = _terminal_name(node.func)
        return name in PLAIN_CALLS or name in _boto_methods() or (
            isinstance(node.func, ast.Attribute) and _is_plain(node.func.value, plain))
    parts: list[ast.AST] = []
    if isinstance(node, ast.Attribute | ast.Subscript):
        parts = [node.value]
    elif isinstance(node, ast.BoolOp):
        parts = list(node.values)
    elif isinstance(node, ast.IfExp):
        parts = [node.body, node.orelse]
    return isinstance(node, PLAIN_LITERALS) or any(_is_plain(part, plain) for part in parts)


def _plain_annotation(annotation: ast.expr | None) -> bool:
    if isinstance(annotation, ast.BinOp):  # `dict[str, X] | None`
        return _plain_annotation(annotation.left)
    if isinstance(annotation, ast.Subscript):
        annotation = annotation.value
    return annotation is not None and _terminal_name(annotation) in PLAIN_TYPES


@cache
def _boto_methods() -> frozenset[str]:
    """Every operation of the services netweave uses: what they return is a plain dict."""
    return frozenset(m for service in SERVICE_RECEIVERS for m in _operations(service))


def _external_imports(nodes: Iterable[ast.AST]) -> set[str]:
    found: set[str] = set()
    for node in _walk(nodes):
        if isinstance(node, ast.Import):
            found |= {(a.asname or a.name).split(".")[0] for a in node.names if not a.name.startswith("chalicelib")}
        elif isinstance(node, ast.ImportFrom) and not (node.module or "").startswith("chalicelib"):
            found |= {a.asname or a.name for a in node.names}
    return found


def _local_names(function: ast.FunctionDef | ast.AsyncFunctionDef, plain: set[str], plain_returns: set[str]) \
        -> set[str]:
    """Names a function binds by parameter, assignment, loop, `with ... as`, `except ... as` or comprehension:
    loading one of them reads the local, not a function of that name elsewhere (`ssm_parameter = env.get(...)`).
    Those known to hold builtin values (annotated `dict[...]`, assigned a literal or the result of a function
    annotated to return one, looping over one) are added to `plain`."""
    found: set[str] = set()
    nodes = list(_walk([function.args, *function.body]))
    for node in nodes:
        if isinstance(node, ast.arg):
            found.add(node.arg)
            if _plain_annotation(node.annotation):
                plain.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            found.add(node.id)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            found.add(node.name)
    for _ in range(3):  # a few rounds: `rows = f(); for row in rows: row.get(...)`
        for node in nodes:
            target, value = None, None
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, value = node.targets[0], node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                target, value = node.target, node.value
            elif isinstance(node, ast.For | ast.comprehension):
                target, value = node.target, node.iter
            pairs = list(zip(target.elts, value.elts, strict=False)) \
                if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) else [(target, value)]
            for name, expression in pairs:
                if isinstance(name, ast.Name) and expression is not None and (
                        _is_plain(expression, plain) or (isinstance(expression, ast.Call)
                                                         and _terminal_name(expression.func) in plain_returns)):
                    plain.add(name.id)
    return found


def _plain_attributes(cls: ast.ClassDef) -> set[str]:
    """`self.x` of a class known to hold builtin values: fields annotated `dict[...]`, attributes assigned a literal."""
    found = {f"self.{s.target.id}" for s in cls.body
             if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name) and _plain_annotation(s.annotation)}
    for node in ast.walk(cls):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self" \
                    and node.value is not None and _is_plain(node.value, set()):
                found.add(f"self.{target.attr}")
    return found


def _plain_constants(tree: ast.Module) -> set[str]:
    """Module constants holding builtin values (`NEGATIONS = {...}`)."""
    found: set[str] = set()
    for statement in tree.body:
        if isinstance(statement, ast.Assign | ast.AnnAssign) and statement.value is not None:
            target = statement.targets[0] if isinstance(statement, ast.Assign) else statement.target
            if isinstance(target, ast.Name) and _is_plain(statement.value, found):
                found.add(target.id)
    return found


def _plain_returns(trees: Iterable[ast.Module]) -> set[str]:
    """Functions annotated to return a builtin value (`-> dict[str, Filter]`)."""
    found: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns is not None:
                returns = node.returns.value if isinstance(node.returns, ast.Subscript) else node.returns
                if _terminal_name(returns) in PLAIN_TYPES:
                    found.add(node.name)
    return found


def _fill(unit: Unit, nodes: list[ast.AST], factories: Factories, used_services: set[str],
          package_modules: set[str], plain: set[str], local: set[str] | frozenset[str] = frozenset()) -> None:
    plain = plain | _external_imports(nodes)
    for node in _walk(nodes):
        if isinstance(node, ast.Import | ast.ImportFrom):
            unit.imports |= _imported_modules(node, package_modules)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in local:
            unit.names.add(node.id)
        elif isinstance(node, ast.Attribute) and not _is_plain(node.value, plain):  # not a builtin value's method
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls") and unit.cls is not None:
                unit.self_names.add(node.attr)  # self.m(): a method of this class (or a base), not any `m`
            else:
                unit.names.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and REGISTRY_STRING.match(node.value):
            unit.strings.add(node.value)
        elif isinstance(node, ast.Dict):
            unit.transaction_keys |= {str(k.value) for k in node.keys
                                      if isinstance(k, ast.Constant) and k.value in TRANSACTION_ITEM_ACTIONS}
        if isinstance(node, ast.Call):
            # a string handed to a call may name a method called by getattr (`_tell(observer, "raised", ...)`)
            unit.strings.update(a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str))
            call = _boto_call(node, unit.module, factories, used_services)
            if call is not None:
                unit.calls.append(call)
        if (isinstance(node, ast.keyword) and node.arg == "IndexName") or (
                isinstance(node, ast.Constant) and node.value == "IndexName"):
            unit.mentions_index = True
    unit.resources = _resource_refs(nodes)


def _imported_modules(node: ast.Import | ast.ImportFrom, package_modules: set[str]) -> set[str]:
    if isinstance(node, ast.Import):
        return {a.name for a in node.names if a.name.startswith("chalicelib")}
    if not (node.module or "").startswith("chalicelib"):
        return set()
    module = str(node.module)
    return {module} | {f"{module}.{a.name}" for a in node.names if f"{module}.{a.name}" in package_modules}


@cache
def load_code() -> Code:
    trees = _sources()
    factories = _client_factories(trees["chalicelib.adapters.aws_clients"])
    used_services = {service for service, _ in factories.values()} | {
        value for tree in trees.values() for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "client"
        and node.args and (value := _literal(node.args[0])) is not None}
    modules = set(trees)
    code = Code({}, {}, modules, factories, _plain_returns(trees.values()))
    constants = set().union(*(_plain_constants(tree) for tree in trees.values()))  # imported ones are plain too
    for module, tree in trees.items():
        body = Unit(module, "")
        external = _external_imports(_module_body_nodes(tree.body)) | constants
        _fill(body, list(_module_body_nodes(tree.body)), factories, used_services, modules, external)
        for statement in tree.body:  # `ADAPTER_TYPES = {"aws": "chalicelib...:AwsInventoryAdapter"}`: counts when read
            target = statement.targets[0] if isinstance(statement, ast.Assign) else getattr(statement, "target", None)
            if isinstance(statement, ast.Assign | ast.AnnAssign) and isinstance(target, ast.Name):
                found = {n.value for n in ast.walk(statement) if isinstance(n, ast.Constant)
                         and isinstance(n.value, str) and REGISTRY_STRING.match(n.value)}
                if found:
                    body.registry[target.id] = found
                    body.strings -= found
        code.units[body.key] = body
        _collect(code, module, tree.body, None, factories, used_services, external)
    return code


def _collect(code: Code, module: str, statements: list[ast.stmt], cls: str | None,
             factories: Factories, used_services: set[str], external: set[str]) -> None:
    for statement in statements:
        if isinstance(statement, ast.If) and _is_type_checking(statement.test):
            continue
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            unit = Unit(module, f"{cls}.{statement.name}" if cls else statement.name, cls, _is_route(statement))
            plain = set(external)
            local = _local_names(statement, plain, code.plain_returns)
            _fill(unit, list(statement.body), factories, used_services, code.modules, plain, local)
            code.units[unit.key] = unit
        elif isinstance(statement, ast.ClassDef) and cls is None:
            external = external | _plain_attributes(statement)
            methods = {s.name for s in statement.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)}
            keys = {k.value for n in ast.walk(statement) if isinstance(n, ast.Dict)
                    for k in n.keys if isinstance(k, ast.Constant) and k.value in TRANSACTION_ITEM_ACTIONS}
            code.classes[(module, statement.name)] = ClassInfo(
                module, statement.name, [b for base in statement.bases if (b := _terminal_name(base))], methods,
                {str(k) for k in keys})
            _collect(code, module, statement.body, statement.name, factories, used_services, external)


# ---- reachability ------------------------------------------------------------------------------------------------

@dataclass
class Reach:
    units: set[tuple[str, str]]
    classes: set[tuple[str, str]]
    via: dict[tuple[str, str], tuple[str, str]]  # unit -> a unit that reached it (for failure messages)

    def path(self, key: tuple[str, str]) -> str:
        chain = [key]
        while chain[-1] in self.via and len(chain) < 30:
            chain.append(self.via[chain[-1]])
        return " <- ".join(f"{m}:{n or '<module>'}" for m, n in chain)


def _event_functions(code: Code) -> dict[str, str]:
    """Lambda function name -> handler function name in app.py (from the event decorators' `name=`)."""
    tree = _sources()["app"]
    found: dict[str, str] = {}
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef):
            for decorator in statement.decorator_list:
                if isinstance(decorator, ast.Call):
                    names = [_literal(k.value) for k in decorator.keywords if k.arg == "name"]
                    found[names[0] or statement.name if names else statement.name] = statement.name
    return found


def _sqs_triggers() -> dict[str, str]:
    """Lambda function name -> logical name of its trigger queue (from `@app.on_sqs_message(queue=...)`)."""
    found: dict[str, str] = {}
    for statement in _sources()["app"].body:
        if not isinstance(statement, ast.FunctionDef):
            continue
        for decorator in statement.decorator_list:
            if isinstance(decorator, ast.Call) and _terminal_name(decorator.func) == "on_sqs_message":
                name = next((_literal(k.value) for k in decorator.keywords if k.arg == "name"), None)
                queue = next(k.value for k in decorator.keywords if k.arg == "queue")
                (ref,) = {r for n in _walk([queue]) for r in _constant(n)}
                found[name or statement.name] = ref.split(":", 1)[1]
    return found


@dataclass
class _Walk:
    """The state of one reachability computation (see the module docstring, point 3)."""

    code: Code
    api: bool
    units: set[tuple[str, str]] = field(default_factory=set)
    via: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    loaded: set[str] = field(default_factory=set)
    classes: set[tuple[str, str]] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    self_refs: set[tuple[str, str]] = field(default_factory=set)  # (class, method) called as self.method there
    strings: set[str] = field(default_factory=set)

    def absorb(self, key: tuple[str, str]) -> None:
        self.units.add(key)
        unit = self.code.units[key]
        self.loaded |= unit.imports & self.code.modules
        self.names |= unit.names
        self.strings |= unit.strings
        if unit.cls is not None:
            bases = next((i.bases for (_, c), i in self.code.classes.items() if c == unit.cls), [])
            # a mixin's self.m() is also the method of the classes that derive from it (they define m)
            derived = [c for (_, c), i in self.code.classes.items() if unit.cls in i.bases]
            self.self_refs |= {(owner, m) for owner in [unit.cls, *bases, *derived] for m in unit.self_names}

    def resolve_dynamic(self) -> None:
        """Registry strings of constants now read, the classes now mentioned, and their bases."""
        for module in list(self.loaded):
            for constant, registered in self.code.units[(module, "")].registry.items():
                if constant in self.names:
                    self.strings |= registered
        for match in filter(None, (REGISTRY_STRING.match(s) for s in self.strings)):
            self.loaded.add(match[1])
            self.names.add(match[2])
        for (module, cls_name), info in self.code.classes.items():
            if module in self.loaded and cls_name in self.names:
                self.classes.add((module, cls_name))
                self.names.update(info.bases)

    def wanted(self, unit: Unit) -> bool:
        if unit.key in self.units or unit.module not in self.loaded:
            return False
        if not unit.name:
            return True  # a loaded module's body
        if unit.cls is None:
            return unit.name in self.names or (unit.route and self.api)
        method = unit.short
        return (unit.module, unit.cls) in self.classes and (
            method in self.names or (unit.cls, method) in self.self_refs or method in self.strings
            or (method.startswith("__") and method.endswith("__")))

    def reached_by(self, unit: Unit) -> tuple[str, str]:
        return next((key for key in self.units if unit.short in self.code.units[key].names
                     | self.code.units[key].strings | self.code.units[key].self_names), ("?", "?"))


def reach(code: Code, function: str) -> Reach:
    api = function == API_FUNCTION
    walk = _Walk(code, api)
    todo = [("app", "" if api else _event_functions(code)[function])]
    while todo:
        for key in todo:
            walk.absorb(key)
        walk.resolve_dynamic()
        todo = [unit.key for unit in code.units.values() if walk.wanted(unit)]
        walk.via.update({key: walk.reached_by(code.units[key]) for key in todo if key[1]})
    return Reach(walk.units, walk.classes, walk.via)


# ---- demands: (action, resource) per function ----------------------------------------------------------------------

KIND = {"dynamodb": "table", "sqs": "queue", "s3": "bucket"}
# The composition root and the clients it holds build every store and queue: their units take their resources from
# their callers.
HUBS = ("chalicelib.bootstrap", "chalicelib.adapters.aws_clients")


_RESOLVED: dict[tuple[int, tuple[str, str], str], frozenset[Resource]] = {}


def _resolve(code: Code, reached: Reach, key: tuple[str, str], kind: str, seen: frozenset[tuple[str, str]]) \
        -> set[Resource]:
    """The resources of `kind` a call in unit `key` touches: its own references, else its class's construction
    sites, else its callers'. Memoised per reach (the hubs make many paths lead to the same units); an answer cut
    short by a cycle on its path is not kept."""
    memo = (id(reached), key, kind)
    if memo in _RESOLVED:
        return set(_RESOLVED[memo])
    unit = code.units[key]
    own = {r for r in unit.resources if r.startswith(f"{kind}:")}
    if own or key in seen:
        return own
    found = _resolve_through_others(code, reached, key, kind, seen | {key})
    if not seen:
        _RESOLVED[memo] = frozenset(found)
    return found


def _resolve_through_others(code: Code, reached: Reach, key: tuple[str, str], kind: str,
                            seen: frozenset[tuple[str, str]]) -> set[Resource]:
    unit = code.units[key]
    found: set[Resource] = set()
    if unit.cls is not None and unit.module not in HUBS:
        return _constructed_with(code, reached, key, unit.cls, kind, seen)
    if unit.module not in HUBS:  # clients and queue URLs handed down in a ports object built elsewhere in the module
        found = {r for u in code.units.values() if u.module == unit.module for r in u.resources
                 if r.startswith(f"{kind}:")}
        for cls in [] if found else [c for m, c in code.classes if m == unit.module and c.endswith("Ports")]:
            found |= _constructed_with(code, reached, key, cls, kind, seen)  # a ports class built by the root
    if not found:
        for other in reached.units - {key}:
            if unit.short in code.units[other].names | code.units[other].self_names:
                found |= _resolve(code, reached, other, kind, seen)
    return found


def _constructed_with(code: Code, reached: Reach, key: tuple[str, str], cls: str, kind: str,
                      seen: frozenset[tuple[str, str]]) -> set[Resource]:
    """The resources of `kind` handed to class `cls` by the reached units that construct it."""
    found: set[Resource] = set()
    for other in reached.units - {key}:
        site = code.units[other]
        if site.cls != cls and cls in site.names:
            found |= _resolve(code, reached, other, kind, seen)
    return found


def _actions(code: Code, unit: Unit, call: BotoCall) -> set[str]:
    operation = f"{call.service}:{call.operation}"
    if operation == "dynamodb:TransactWriteItems":
        # the items the method builds itself or with the methods of its class it calls, else any of its class
        keys = set(unit.transaction_keys)
        for helper in unit.self_names:
            keys |= code.units[(unit.module, f"{unit.cls}.{helper}")].transaction_keys \
                if (unit.module, f"{unit.cls}.{helper}") in code.units else set()
        info = code.classes.get((unit.module, unit.cls or ""))
        keys = keys or (info.transaction_keys if info else set())
        assert keys, f"{unit.module}.{unit.name}: a transaction whose item kinds the test cannot see"
        return {TRANSACTION_ITEM_ACTIONS[k] for k in keys}
    actions = set(ACTION_EXCEPTIONS.get(operation, (operation,)))
    for action in list(actions):
        actions.update(IMPLIED_ACTIONS.get(action, ()))
    return actions


@cache
def demands(function: str) -> frozenset[Demand]:
    code = load_code()
    reached = reach(code, function)
    found: set[Demand] = set()
    for key in reached.units:
        unit = code.units[key]
        for call in unit.calls:
            kind = KIND.get(call.service)
            targets: set[Resource] = {"any"}
            if kind is not None:
                targets = _resolve(code, reached, key, kind, frozenset())
                assert targets, f"{unit.module}.{unit.name}:{call.line}: no {kind} found for {call.operation}"
                if call.queue_hint == "dlq":
                    targets = {t for t in targets if t.endswith("-dlq")}
                elif call.queue_hint == "main":
                    targets = {t for t in targets if not t.endswith("-dlq")}
            if call.operation in ("Query", "Scan") and _may_use_index(code, reached, unit):
                targets |= {t.replace("table:", "index:") for t in targets if _has_indexes(t)}
            for action in _actions(code, unit, call):
                service = action.split(":")[0]
                found |= {(action, t if KIND.get(service) else "any") for t in targets}
    queue = _sqs_triggers().get(function)
    if queue is not None:
        found |= {(action, f"queue:{queue}") for action in EVENT_SOURCE_ACTIONS}
    found |= {(action, f"logs:{function}") for action in LOG_ACTIONS}
    return frozenset(found)


def _may_use_index(code: Code, reached: Reach, unit: Unit) -> bool:
    """The unit names an index itself, or a reached method of its class that calls it does (`_query_all(IndexName=`)."""
    return unit.mentions_index or any(
        other.mentions_index and unit.short in other.names | other.self_names
        for other in (code.units[k] for k in reached.units) if other.module == unit.module and other.cls == unit.cls)


def _has_indexes(resource: Resource) -> bool:
    return any(t.indexes for t in resources.TABLES if resource == f"table:{t.logical_name}")


# ---- grants: what the policy files say ----------------------------------------------------------------------------

def policy_path(stage: str, group: str) -> Path:
    return CHALICE_DIR / f"policy-{stage}-{group}.json"


def _arn_resource(stage: str, arn: str) -> Resource:
    """An ARN as the resource id demands use; ARNs outside resources.py as `other:<arn with {stage}>`."""
    for table in resources.TABLES:
        name = f"arn:aws:dynamodb:*:*:table/{resources.physical_name(stage, table.logical_name)}"
        if arn == name:
            return f"table:{table.logical_name}"
        if arn == f"{name}/index/*":
            return f"index:{table.logical_name}"
    for queue in resources.QUEUES:
        for dead_letter in (False, True):
            if arn == f"arn:aws:sqs:*:*:{resources.queue_name(stage, queue, dead_letter)}":
                return f"queue:{queue.dlq_logical_name if dead_letter else queue.logical_name}"
    for bucket in resources.BUCKETS:
        if arn == f"arn:aws:s3:::{resources.physical_name(stage, bucket.logical_name)}*/*":
            return f"bucket:{bucket.logical_name}"
    match = re.fullmatch(rf"arn:aws:logs:\*:\*:log-group:/aws/lambda/netweave-{stage}-(\w+)(:\*)?", arn)
    if match:
        return f"logs:{match[1]}"
    return "other:" + arn.replace(f"netweave/{stage}/", "netweave/{stage}/")


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def load_policy(stage: str, group: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(policy_path(stage, group).read_text())
    return document


def grants(stage: str, group: str) -> set[tuple[str, Resource]]:
    found: set[tuple[str, Resource]] = set()
    for statement in load_policy(stage, group)["Statement"]:
        assert statement["Effect"] == "Allow", statement
        for action in _as_list(statement["Action"]):
            assert "*" not in action, f"{group}: wildcard action {action}"
            found |= {(action, _arn_resource(stage, arn)) for arn in _as_list(statement["Resource"])}
    return found


def _covered(demand: Demand, granted: set[tuple[str, Resource]]) -> bool:
    action, resource = demand
    if resource == "any":
        return any(a == action for a, _ in granted)
    return demand in granted


# ---- the tests -----------------------------------------------------------------------------------------------------

FUNCTIONS = sorted(GROUPS)


def test_every_lambda_function_of_app_py_has_a_group() -> None:
    assert set(_event_functions(load_code())) | {API_FUNCTION} == set(GROUPS)


def test_the_scan_finds_the_calls_it_is_meant_to_find() -> None:
    """Guards the scanner itself: a few calls that must be seen, with their service."""
    code = load_code()
    seen = {(u.module, f"{c.service}:{c.operation}") for u in code.units.values() for c in u.calls}
    for expected in [("chalicelib.adapters.store.subscription_store", "dynamodb:TransactWriteItems"),
                     ("chalicelib.adapters.store.inventory_store", "dynamodb:Query"),  # get_paginator("query")
                     ("chalicelib.adapters.store.package_store", "s3:PutObject"),
                     ("chalicelib.adapters.queue.batches", "sqs:SendMessageBatch"),
                     ("chalicelib.adapters.ims.aws", "eks:ListNodegroups"),
                     ("chalicelib.adapters.ims.aws", "sts:AssumeRole"),
                     ("chalicelib.adapters.poll_trigger", "events:PutEvents"),
                     ("chalicelib.adapters.aws_probes", "dynamodb:DescribeTable"),
                     ("chalicelib.adapters.aws_clients", "ssm:GetParameter"),
                     ("chalicelib.adapters.aws_clients", "sqs:GetQueueUrl")]:
        assert expected in seen, expected
    for prefix in GENERIC_CLIENTS:
        assert any(module.startswith(prefix) for module, _ in seen), f"GENERIC_CLIENTS entry {prefix} is stale"


def test_config_json_gives_every_function_its_group_policy() -> None:
    config = json.loads((CHALICE_DIR / "config.json").read_text())
    referenced = set()
    for stage in STAGES:
        settings = config["stages"][stage]
        assert settings["autogen_policy"] is False
        for function, group in GROUPS.items():
            policy = settings["lambda_functions"][function]["iam_policy_file"]
            assert policy == policy_path(stage, group).name, (stage, function)
            assert policy_path(stage, group).is_file()
            referenced.add(policy_path(stage, group).name)
    assert {p.name for p in CHALICE_DIR.glob("policy-*.json")} == referenced, "policy files no function uses"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_policy_covers_what_its_code_reaches(function: str) -> None:
    group = GROUPS[function]
    waived = {(a, r) for (g, a, r) in ANALYSIS_WAIVERS if g == group}
    for stage in STAGES:
        granted = grants(stage, group)
        missing = sorted(d for d in demands(function) - waived if not _covered(d, granted))
        assert not missing, f"{stage} {function} ({policy_path(stage, group).name}) lacks {missing}"


@pytest.mark.parametrize("group", sorted(set(GROUPS.values())))
def test_each_group_policy_grants_nothing_its_functions_do_not_use(group: str) -> None:
    functions = [f for f, g in GROUPS.items() if g == group]
    demanded = set().union(*(demands(f) for f in functions))
    actions_any = {a for a, r in demanded if r == "any"}
    for stage in STAGES:
        surplus = sorted((a, r) for a, r in grants(stage, group)
                         if (a, r) not in demanded and not (r.startswith("other:") and a in actions_any))
        assert not surplus, f"{stage} {group}: granted but unused {surplus}"


def test_waivers_are_still_needed_and_not_granted() -> None:
    for (group, action, resource), reason in ANALYSIS_WAIVERS.items():
        functions = [f for f, g in GROUPS.items() if g == group]
        assert any((action, resource) in demands(f) for f in functions), f"stale waiver: {reason}"
        for stage in STAGES:
            assert (action, resource) not in grants(stage, group), f"waived but granted anyway: {reason}"


def test_the_union_of_the_policies_grants_exactly_the_actions_the_code_uses() -> None:
    used = {a for f in FUNCTIONS for a, _ in demands(f)}
    for stage in STAGES:
        granted = {a for g in set(GROUPS.values()) for a, _ in grants(stage, g)}
        assert granted == used, f"{stage}: unused {sorted(granted - used)}, missing {sorted(used - granted)}"


@pytest.mark.parametrize("group", sorted(set(GROUPS.values())))
def test_other_services_use_the_documented_arns(group: str) -> None:
    for stage in STAGES:
        for action, resource in grants(stage, group):
            if resource.startswith("other:"):
                expected = NON_TABLE_RESOURCES.get(action, ())
                assert resource.removeprefix("other:") in expected, (stage, group, action, resource)


@pytest.mark.parametrize("group", sorted(set(GROUPS.values())))
def test_dev_and_prod_policies_differ_only_in_the_stage(group: str) -> None:
    def neutral(stage: str) -> str:
        text = policy_path(stage, group).read_text()
        return re.sub(rf"(?<=netweave[-/]){stage}(?=[-/])", "{stage}", text)

    assert neutral("dev") == neutral("prod")
    assert "{stage}" in neutral("dev")
    assert "prod" not in policy_path("dev", group).read_text()
    assert "dev" not in policy_path("prod", group).read_text()


def test_pass_role_is_only_to_eks() -> None:
    for stage in STAGES:
        for group in set(GROUPS.values()):
            for statement in load_policy(stage, group)["Statement"]:
                if "iam:PassRole" in _as_list(statement["Action"]):
                    assert _as_list(statement["Action"]) == ["iam:PassRole"]
                    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "eks.amazonaws.com"}}
