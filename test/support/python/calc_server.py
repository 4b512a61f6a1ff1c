#!/usr/bin/python3
"""A Calculator server on Python's thrift (Debian python3-thrift), for interop tests.

usage: calc_server.py <framed|buffered|header> <binary|compact> <version>
Listens on 127.0.0.1 on a free port and prints "READY <port>" once listening.
"""
import socket
import sys
import time

from thrift.protocol import TBinaryProtocol, TCompactProtocol, THeaderProtocol
from thrift.server import TServer
from thrift.transport import TSocket, TTransport

from calculator import Calculator
from calculator.ttypes import DivideByZero

transport_name, protocol_name, version = sys.argv[1], sys.argv[2], sys.argv[3]
server_ref = {}


class Handler:
    def add(self, a, b):
        return a + b

    def subtract(self, a, b):
        return a - b

    def divide(self, a, b):
        if b == 0:
            raise DivideByZero(message="%d / 0" % a)
        return int(a / b)

    def echo(self, text):
        return text

    def version(self):
        return version

    def sleep(self, ms):
        time.sleep(ms / 1000.0)
        return ms

    def header(self, key):
        proto = server_ref.get("iprot")
        if proto is None:
            return ""
        headers = proto.trans.get_headers()
        value = headers.get(key.encode()) or headers.get(key)
        if isinstance(value, bytes):
            value = value.decode()
        return value or ""

    def record(self, event):
        sys.stdout.write("EVENT %s\n" % event)
        sys.stdout.flush()


processor = Calculator.Processor(Handler())
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
port = sock.getsockname()[1]
sock.close()
server_socket = TSocket.TServerSocket(host="127.0.0.1", port=port)

if transport_name == "header":
    pfactory = THeaderProtocol.THeaderProtocolFactory(allowed_client_types=(0, 1, 2, 3, 4))
    tfactory = TTransport.TBufferedTransportFactory()

    class HeaderProcessor:
        def process(self, iprot, oprot):
            server_ref["iprot"] = iprot
            return processor.process(iprot, oprot)

    server = TServer.TThreadedServer(HeaderProcessor(), server_socket, tfactory, pfactory, daemon=True)
else:
    tfactory = TTransport.TFramedTransportFactory() if transport_name == "framed" else TTransport.TBufferedTransportFactory()
    pfactory = TCompactProtocol.TCompactProtocolFactory() if protocol_name == "compact" else TBinaryProtocol.TBinaryProtocolFactory()
    server = TServer.TThreadedServer(processor, server_socket, tfactory, pfactory, daemon=True)

server_socket.listen()
server.serverTransport = server_socket
server.serverTransport.listen = lambda: None
sys.stdout.write("READY %d\n" % port)
sys.stdout.flush()
server.serve()
