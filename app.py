"""netweave: wiring only. Blueprints, middleware, the composition root and event-source decorators; behaviour lives
in chalicelib/ (docs/architecture.md §8)."""

# First: holds the garbage collector back while the code below is imported (chalicelib/coldstart.py).
from chalicelib import coldstart

# isort: split
from typing import Any

from chalice import Chalice, Rate
from chalice.app import CloudWatchEvent, SQSEvent

from chalicelib import bootstrap, resources
from chalicelib.api import (
    artifacts,
    deployment_templates,
    deployments,
    docs,
    inventory,
    monitoring,
    operations,
    ops,
    packages,
    pools,
    provisioning,
    subscriptions,
    versions,
)
from chalicelib.api import ports as api_ports
from chalicelib.api.middleware import http_middleware
from chalicelib.api.routing import add_method_not_allowed_routes
from chalicelib.settings import poll_rate_minutes, queue_name_at_import

app = Chalice(app_name="netweave")
app.register_middleware(coldstart.first_request, "http")  # the first registered is the outermost
app.register_middleware(http_middleware, "http")
app.api.binary_types.extend(packages.BINARY_TYPES)  # chart uploads must reach the function as bytes
api_ports.install(bootstrap.components)  # built on the first request that needs a store, client or backend

app.register_blueprint(versions.blueprint)
app.register_blueprint(inventory.blueprint)
app.register_blueprint(pools.blueprint)
app.register_blueprint(provisioning.blueprint)
app.register_blueprint(ops.blueprint)
app.register_blueprint(docs.blueprint)
app.register_blueprint(subscriptions.blueprint)
app.register_blueprint(operations.blueprint)
app.register_blueprint(packages.blueprint)
app.register_blueprint(deployments.blueprint)
app.register_blueprint(deployment_templates.blueprint)
app.register_blueprint(monitoring.blueprint)
app.register_blueprint(artifacts.blueprint)
add_method_not_allowed_routes(app)


@app.schedule(Rate(poll_rate_minutes(), unit=Rate.MINUTES), name="poll_inventory")
def poll_inventory(event: CloudWatchEvent) -> list[dict[str, Any]]:
    from chalicelib.handlers import inventory as handlers  # event functions import their code when called

    return handlers.scheduled_poll()


@app.on_cw_event(resources.CLUSTER_EVENT_PATTERN, name="poll_inventory_on_change")
def poll_inventory_on_change(event: CloudWatchEvent) -> list[dict[str, Any]]:
    from chalicelib.handlers import inventory as handlers

    return handlers.poll_inventory_for_event(event.to_dict())


# maximum_concurrency matches each function's reserved concurrency: the SQS poller must not invoke more copies than
# may run, or throttled receives would count against maxReceiveCount and push messages to the DLQ.
@app.on_sqs_message(queue=queue_name_at_import(resources.EVENTS), batch_size=10, name="fan_out",
                    maximum_concurrency=5)
def fan_out(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.handlers import notifications

    return notifications.fan_out_batch(event.to_dict())


@app.on_sqs_message(queue=queue_name_at_import(resources.DELIVERIES), batch_size=10, name="deliver",
                    maximum_concurrency=20)
def deliver(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.handlers import notifications

    return notifications.deliver_batch(event.to_dict(), event.context)


@app.on_sqs_message(queue=queue_name_at_import(resources.DMS_OPERATIONS), batch_size=1, name="run_dms_operation",
                    maximum_concurrency=3)
def run_dms_operation(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.handlers import dms  # helm, the worker and its adapters: only this function pays

    return dms.run_operations_batch(event.to_dict())


@app.schedule(Rate(poll_rate_minutes(), unit=Rate.MINUTES), name="poll_deployments")
def poll_deployments(event: CloudWatchEvent) -> dict[str, Any]:
    from chalicelib.handlers import dms

    return dms.scheduled_deployment_poll()


coldstart.loaded()  # last: everything above is loaded
