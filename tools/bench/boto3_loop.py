"""The seed article's broadcast: boto3's post_to_connection, one connection
after another.

    /usr/bin/python3 boto3_loop.py ENDPOINT N MESSAGE   (run by internal/peerbench)

Prints {"wall_s": ...}: the time from the first call to the last answer.
"""
import json
import sys
import time

import boto3

endpoint, n, message = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
client = boto3.client("apigatewaymanagementapi", endpoint_url=endpoint)
ids = [f"conn-{i}=" for i in range(n)]

start = time.perf_counter()
for connection_id in ids:
    client.post_to_connection(ConnectionId=connection_id, Data=message)
print(json.dumps({"wall_s": time.perf_counter() - start}))
