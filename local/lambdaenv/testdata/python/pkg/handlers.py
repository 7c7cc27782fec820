"""Handlers in a package (Handler pkg.handlers.NAME)."""

import logging
import os
import time

count = 0
logger = logging.getLogger()


def handler(event, context):
    global count
    count += 1
    return {
        "count": count,
        "pid": os.getpid(),
        "event": event,
        "awsRequestId": context.aws_request_id,
        "functionName": context.function_name,
        "functionVersion": context.function_version,
        "invokedFunctionArn": context.invoked_function_arn,
        "memoryLimitInMB": context.memory_limit_in_mb,
        "logGroupName": context.log_group_name,
        "logStreamName": context.log_stream_name,
        "remaining": context.get_remaining_time_in_millis(),
        "trace": os.environ.get("_X_AMZN_TRACE_ID"),
        "handlerEnv": os.environ.get("_HANDLER"),
        "cwd": os.getcwd(),
    }


class ChatError(Exception):
    pass


def fails(event, context):
    raise ChatError("no such room")


def logs(event, context):
    logger.debug("debug line")
    logger.info("info line %d", 1)
    logger.warning("warn line")
    logger.error("error line")
    print("printed line")
    return "logged"


def crash(event, context):
    os._exit(3)


def sleep(event, context):
    time.sleep(60)
    return "woke"
