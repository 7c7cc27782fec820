"""The seed article's broadcast: boto3's post_to_connection, one connection
after another.

    /usr/bin/python3 boto3_loop.py ENDPOINT N MESSAGE WARM   (run by internal/peerbench)

Sends to WARM ids first (the connection open, as in a warm Lambda), then to
N, and prints {"wall_s": ..., "cpu_s": ...} for those: the time from the
first call to the last answer, and the process's CPU time meanwhile.
"""
import json
import sys
import time

import boto3

endpoint, n, message, warm = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode(), int(sys.argv[4])
client = boto3.client("apigatewaymanagementapi", endpoint_url=endpoint)
for i in range(warm):
    client.post_to_connection(ConnectionId=f"warm-{i}=", Data=message)
ids = [f"conn-{i}=" for i in range(n)]

cpu0 = time.process_time()
start = time.perf_counter()
for connection_id in ids:
    client.post_to_connection(ConnectionId=connection_id, Data=message)
wall = time.perf_counter() - start
print(json.dumps({"wall_s": wall, "cpu_s": time.process_time() - cpu0}))
