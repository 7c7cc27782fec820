"""A chat: connections kept in DynamoDB, messages sent to all of them."""
import json
import os
import sys
import time

import boto3

_table = None


def table():
    """The connections table, made at first use (not at import: a loaded
    machine can take seconds, and init has 10)."""
    global _table
    if _table is None:
        _table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    return _table


def on_connect(event, context):
    table().put_item(Item={"connectionId": event["requestContext"]["connectionId"]})
    return {"statusCode": 200}


def on_disconnect(event, context):
    table().delete_item(Key={"connectionId": event["requestContext"]["connectionId"]})
    return {"statusCode": 200}


def on_message(event, context):
    body = json.loads(event.get("body") or "{}")
    fail = body.get("fail")
    if fail == "error":
        raise ValueError("bad input")
    if fail == "timeout":
        time.sleep(10)
    if fail == "crash":
        sys.exit(3)
    rc = event["requestContext"]
    api = boto3.client("apigatewaymanagementapi", endpoint_url=f"https://{rc['domainName']}/{rc['stage']}")
    text = f"{body.get('data')} ({context.function_name}, python {sys.version_info[0]}.{sys.version_info[1]})"
    for item in table().scan()["Items"]:
        try:
            api.post_to_connection(ConnectionId=item["connectionId"], Data=text.encode())
        except api.exceptions.GoneException:
            pass
    return {"statusCode": 200}
