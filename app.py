"""netweave: wiring only. Blueprints, middleware and event-source decorators; behaviour lives in chalicelib/."""

from chalice import Chalice

from chalicelib.api import inventory, ops, versions
from chalicelib.api.middleware import http_middleware
from chalicelib.api.routing import add_method_not_allowed_routes

app = Chalice(app_name="netweave")
app.register_middleware(http_middleware, "http")

app.register_blueprint(versions.blueprint)
app.register_blueprint(inventory.blueprint)
app.register_blueprint(ops.blueprint)
add_method_not_allowed_routes(app)
