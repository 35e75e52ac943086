"""AWS clients for one region, each created on first use and kept for the life of the Lambda container.

Nothing is created at import time or before a request needs it: a route that makes no AWS call never imports the AWS
SDK (docs/architecture.md §8). The clients are botocore's low-level clients, the very ones boto3 hands out, made from a
botocore session: boto3's own additions (resources, S3 managed transfers) are unused here, and importing boto3 (it
loads s3transfer, and that multiprocessing and concurrent.futures) costs a cold start about 30 ms more.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from chalicelib.domain.errors import BackendUnavailable

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_sqs.client import SQSClient


class AwsClients:
    def __init__(self, region: str, queue_url_prefix: str | None = None) -> None:
        self.region = region
        self.queue_url_prefix = queue_url_prefix
        self._queue_urls: dict[str, str] = {}
        self._parameters: dict[str, str] = {}

    @cached_property
    def session(self) -> Any:
        import botocore.session  # imported on first use: routes that need no AWS call never pay for it

        return botocore.session.get_session()  # a new session (credentials, loaders) for this object's clients

    def _client(self, service: str) -> Any:
        return self.session.create_client(service, region_name=self.region)

    @cached_property
    def dynamodb(self) -> Any:
        """The low-level client (wire-format attribute values, no Decimal conversion) the stores work with."""
        return self._client("dynamodb")

    @cached_property
    def sqs(self) -> SQSClient:
        client: SQSClient = self._client("sqs")
        return client

    @cached_property
    def s3(self) -> S3Client:
        client: S3Client = self._client("s3")
        return client

    @cached_property
    def events(self) -> Any:
        return self._client("events")

    @cached_property
    def ssm(self) -> Any:
        return self._client("ssm")

    def queue_url(self, queue_name: str) -> str:
        """A queue's URL by its physical name: built from the deployment's prefix when it has one, else asked once
        per container (a `GetQueueUrl` request before the first message)."""
        if self.queue_url_prefix:
            return f"{self.queue_url_prefix}{queue_name}"
        if queue_name not in self._queue_urls:
            self._queue_urls[queue_name] = self.sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        return self._queue_urls[queue_name]

    def ssm_parameter(self, name: str, fresh: bool = False) -> str:
        """A SecureString from SSM, decrypted; cached for the life of the container unless `fresh` is asked for.
        A Secrets Manager secret is read the same way, as `/aws/reference/secretsmanager/<secret name>`."""
        if fresh or name not in self._parameters:
            reply = self.ssm.get_parameter(Name=name, WithDecryption=True)
            self._parameters[name] = str(reply["Parameter"]["Value"])
        return self._parameters[name]

    def backend_password(self, name: str) -> str:
        """A backend's password (DTIAS, a BMC), read afresh: backends ask only when they log in, so a rotated
        password works from the next log-in. An AWS failure is the backend's outage to the poll, not a crash."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self.ssm_parameter(name, fresh=True)
        except (BotoCoreError, ClientError) as error:
            raise BackendUnavailable(f"cannot read SSM parameter {name} ({type(error).__name__})") from error
