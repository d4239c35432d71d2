"""moto's server as `moto_server` runs it, except that DynamoDB requests are
served one at a time.

moto's DynamoDB `TransactWriteItems` deep-copies every table it touches before
it runs and puts the copy back when the transaction is cancelled. A request
served on another thread meanwhile either changes a table under the copy
(`RuntimeError: dictionary changed size during iteration`, an HTTP 500 to the
client) or is undone when the copy is put back. DynamoDB itself has neither
problem, and qrie writes findings in concurrent transactions, so the emulator
serialises DynamoDB requests; other services (SQS long polls among them) are
still served concurrently.
"""

import threading

from moto import server
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

_DYNAMODB = threading.Lock()


class SerialDynamoDB(DomainDispatcherApplication):
    def __call__(self, environ, start_response):
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return super().__call__(environ, start_response)
        with _DYNAMODB:
            # The whole response is produced under the lock, not only its start.
            return list(super().__call__(environ, start_response))


server.DomainDispatcherApplication = SerialDynamoDB

if __name__ == "__main__":
    server.main()
