#!/usr/bin/python3
"""A Calculator client on Python's thrift (Debian python3-thrift): framed binary,
over TLS (TSSLSocket, no client certificate) or plaintext (TSocket).

usage: tls_client.py <tls|plain> <port> [ca.pem]
Prints "OK <add(2, 3)>" or "ERROR <what failed>" and exits 0 either way.
"""
import ssl
import sys

from thrift.protocol import TBinaryProtocol
from thrift.transport import TSocket, TSSLSocket, TTransport

from calculator import Calculator

mode, port = sys.argv[1], int(sys.argv[2])
try:
    if mode == 'tls':
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=sys.argv[3])
        # Mesh certificates name a SPIFFE id, not a host name.
        context.check_hostname = False
        sock = TSSLSocket.TSSLSocket('127.0.0.1', port, ssl_context=context)
    else:
        sock = TSocket.TSocket('127.0.0.1', port)
    sock.setTimeout(5000)
    transport = TTransport.TFramedTransport(sock)
    client = Calculator.Client(TBinaryProtocol.TBinaryProtocol(transport))
    transport.open()
    print('OK %d' % client.add(2, 3), flush=True)
    transport.close()
except Exception as err:  # noqa: BLE001 - the test reads what failed
    print('ERROR %s: %s' % (type(err).__name__, err), flush=True)
