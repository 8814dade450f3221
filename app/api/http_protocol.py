"""uvicorn's HTTP/1.1 protocol, answering bytes it cannot read as a request with a problem document.

Bytes that are not HTTP/1.1 (a malformed request line or header, or a request line and headers
longer than the parser takes) never reach the application: uvicorn answers them itself, with a
plain-text 400, and closes the connection. Every other error this service gives is an RFC 9457
problem document with a stable ``code``; so is this one. It has no ``instance`` and no
``request_id``: no request was read.
"""

import json
from http import HTTPStatus

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.api.problems import PROBLEM_MEDIA_TYPE, STATUS_CODES

UNREADABLE = json.dumps(
    {
        "type": "about:blank",
        "title": HTTPStatus.BAD_REQUEST.phrase,
        "status": 400,
        "detail": "This is not an HTTP/1.1 request that can be read: its request line or a header "
        "is malformed, or they are too long.",
        "code": STATUS_CODES[400],
    }
).encode()


class ProblemHttpToolsProtocol(HttpToolsProtocol):
    """``rectrack serve``'s protocol (``uvicorn.run(http=...)``): uvicorn's own, but for this."""

    def send_400_response(self, msg: str) -> None:  # uvicorn calls it, and logs ``msg``, itself
        head = [b"HTTP/1.1 400 Bad Request\r\n"]
        for name, value in self.server_state.default_headers:  # date, server
            head.append(name + b": " + value + b"\r\n")
        head.append(b"content-type: " + PROBLEM_MEDIA_TYPE.encode() + b"\r\n")
        head.append(b"content-length: " + str(len(UNREADABLE)).encode() + b"\r\n")
        head.append(b"connection: close\r\n\r\n")
        self.transport.write(b"".join(head) + UNREADABLE)
        self.transport.close()
