"""lambdaws's runtime interface client for Python.

What Lambda's managed python runtimes run in an execution environment: it
imports the function's handler (_HANDLER, "module.function" with dotted
packages, LAMBDA_TASK_ROOT first on sys.path), then loops on the Lambda
Runtime API at AWS_LAMBDA_RUNTIME_API (host:port): GET /next, call the
handler, POST the response or the error. Standard library only.

It follows the behaviour of AWS's client,
aws/aws-lambda-python-runtime-interface-client (read, not copied):
awslambdaric/bootstrap.py (_get_handler's error types and messages, the
error bodies, the text log format, _X_AMZN_TRACE_ID), lambda_context.py (the
context), lambda_runtime_log_utils.py (the JSON log format, levels) and
lambda_runtime_marshaller.py (responses; Decimal as a number).
"""

import decimal
import http.client
import importlib
import json
import logging
import os
import sys
import time
import traceback

# The script's folder is sys.path[0]: the function's code takes its place,
# PYTHONPATH's folders (the runtime's packages, such as boto3) follow.
sys.path[0] = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()

_request_id = None  # of the current invocation


class _Fault(Exception):
    def __init__(self, error_type, message, trace=None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace


# ---- The Runtime API.


class _Client:
    def __init__(self, api):
        host, _, port = api.rpartition(":")
        self.conn = http.client.HTTPConnection(host, int(port))

    def request(self, method, route, body=None, headers=None):
        headers = dict(headers or {})
        if body is not None:
            headers.setdefault("Content-Type", "application/json")
        self.conn.request(method, "/2018-06-01/runtime/" + route, body=body, headers=headers)
        resp = self.conn.getresponse()
        return resp, resp.read()

    def post_error(self, route, error):
        typ = "".join(c for c in error.get("errorType", "") if " " <= c <= "~") or "Runtime.Unknown"
        body = json.dumps(error).encode()
        self.request("POST", route, body, {"Lambda-Runtime-Function-Error-Type": typ})


def _error(message, error_type, stack_trace):
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": _request_id or "",
        "stackTrace": stack_trace or [],
    }


def _user_frames(tb):
    """The traceback's frames from the first one outside this file."""
    frames = traceback.extract_tb(tb)
    for i, frame in enumerate(frames):
        if frame.filename != __file__:
            return frames[i:]
    return []


def _fault_of(exc):
    return _error(str(exc), type(exc).__name__, traceback.format_list(_user_frames(exc.__traceback__)))


# ---- Logs.

_json_logs = (os.environ.get("AWS_LAMBDA_LOG_FORMAT") or "").upper() == "JSON"
_log_level = {None: "", "TRACE": "DEBUG"}.get(
    os.environ.get("AWS_LAMBDA_LOG_LEVEL"), os.environ.get("AWS_LAMBDA_LOG_LEVEL") or ""
).upper()
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "aws_request_id"}


class _RequestID(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _request_id or ""
        return True


class _JSONFormatter(logging.Formatter):
    """Lambda's JSON log lines: timestamp, level, message, logger, requestId,
    the exception's type, message and stack if any, and a record's extra
    fields."""

    def format(self, record):
        level = min(50, max(0, record.levelno)) // 10 * 10
        created = time.gmtime(record.created)
        out = {
            "timestamp": time.strftime(_TIME_FORMAT, created) + ".%03dZ" % int(record.msecs),
            "level": logging.getLevelName(level),
            "message": record.getMessage(),
            "logger": record.name,
            "requestId": getattr(record, "aws_request_id", None),
        }
        if record.exc_info:
            out["stackTrace"] = traceback.format_tb(record.exc_info[2])
            out["errorType"] = record.exc_info[0].__name__
            out["errorMessage"] = str(record.exc_info[1])
            out["location"] = "%s:%s:%s" % (record.pathname, record.funcName, record.lineno)
        for k, v in vars(record).items():
            if k not in _RECORD_FIELDS and k not in out:
                out[k] = v
        return json.dumps({k: v for k, v in out.items() if v is not None}, ensure_ascii=False, default=str)


class _StdoutHandler(logging.Handler):
    def emit(self, record):
        try:
            sys.stdout.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


def _setup_logging():
    logging.Formatter.converter = time.gmtime
    handler = _StdoutHandler()
    if _json_logs:
        handler.setFormatter(_JSONFormatter())
    else:
        handler.setFormatter(
            logging.Formatter(
                "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s", _TIME_FORMAT
            )
        )
    handler.addFilter(_RequestID())
    root = logging.getLogger()
    # As on Lambda, the root logger keeps Python's WARNING level unless
    # AWS_LAMBDA_LOG_LEVEL says otherwise.
    if _log_level in logging._nameToLevel:
        root.setLevel(_log_level)
    root.addHandler(handler)


def _log_error(error):
    if _json_logs:
        line = json.dumps(
            {"timestamp": time.strftime(_TIME_FORMAT, time.gmtime()), "level": "ERROR", **error}, default=str
        )
    else:
        # Lambda joins these lines with \r, one record a line; here they
        # stay lines, which a terminal shows.
        head = "[ERROR]"
        if error.get("errorType"):
            head += " " + error["errorType"]
        if error.get("errorMessage"):
            head += (":" if error.get("errorType") else "") + " " + error["errorMessage"]
        lines = [head, "Traceback (most recent call last):"]
        for element in error.get("stackTrace") or []:
            lines.extend(element.splitlines() or [""])
        line = "\n".join(lines)
    sys.stdout.write(line + "\n")


# ---- The handler.


def _load(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise _Fault("Runtime.MalformedHandlerName", "Bad handler '{}': {}".format(handler, e))
    if modname.split(".")[0] in sys.builtin_module_names:
        raise _Fault("Runtime.BuiltInModuleConflict", "Cannot use built-in module {} as a handler module".format(modname))
    try:
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise _Fault("Runtime.ImportModuleError", "Unable to import module '{}': {}".format(modname, e))
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise _Fault("Runtime.UserCodeSyntaxError", "Syntax error in module '{}': {}".format(modname, e), trace)
    try:
        return getattr(module, fname)
    except AttributeError:
        raise _Fault("Runtime.HandlerNotFound", "Handler '{}' missing on module '{}'".format(fname, modname))


class LambdaContext:
    """The handler's context, as Lambda's."""

    def __init__(self, request_id, deadline_ms, function_arn):
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = function_arn
        self.client_context = None
        self.identity = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def log(self, msg):
        sys.stdout.write(str(msg))


def _default(obj):
    if isinstance(obj, decimal.Decimal):
        return int(obj) if obj == obj.to_integral_value() else float(obj)
    raise TypeError("Object of type %s is not JSON serializable" % type(obj).__name__)


def _invoke(client, handler, resp, body):
    global _request_id
    request_id = resp.getheader("Lambda-Runtime-Aws-Request-Id")
    _request_id = request_id
    trace = resp.getheader("Lambda-Runtime-Trace-Id")
    if trace:
        os.environ["_X_AMZN_TRACE_ID"] = trace
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
    error = None
    try:
        context = LambdaContext(
            request_id,
            int(resp.getheader("Lambda-Runtime-Deadline-Ms") or 0),
            resp.getheader("Lambda-Runtime-Invoked-Function-Arn"),
        )
        try:
            event = json.loads(body)
        except ValueError as e:
            raise _Fault("Runtime.UnmarshalError", "Unable to unmarshal input: {}".format(e))
        result = handler(event, context)
        if isinstance(result, bytes):
            out, content_type = result, "application/unknown"
        else:
            try:
                out, content_type = json.dumps(result, default=_default).encode(), "application/json"
            except Exception as e:
                raise _Fault("Runtime.MarshalError", "Unable to marshal response: {}".format(e))
    except _Fault as e:
        error = _error(e.message, e.error_type, e.trace)
    except Exception as e:
        error = _fault_of(e)
    if error is not None:
        _log_error(error)
        client.post_error("invocation/%s/error" % request_id, error)
    else:
        client.request("POST", "invocation/%s/response" % request_id, out, {"Content-Type": content_type})


def main():
    client = _Client(os.environ["AWS_LAMBDA_RUNTIME_API"])
    _setup_logging()
    try:
        handler = _load(os.environ.get("_HANDLER", ""))
    except Exception as e:
        error = _error(e.message, e.error_type, e.trace) if isinstance(e, _Fault) else _fault_of(e)
        _log_error(error)
        client.post_error("init/error", error)
        sys.exit(1)
    while True:
        resp, body = client.request("GET", "invocation/next")
        if resp.status != 200:
            sys.exit(1)  # the environment is stopping
        _invoke(client, handler, resp, body)


if __name__ == "__main__":
    main()
