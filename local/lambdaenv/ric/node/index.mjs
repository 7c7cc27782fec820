// lambdaws's runtime interface client for Node.js: what Lambda's managed
// nodejs runtimes run in an execution environment. It loads the function's
// handler (_HANDLER, under LAMBDA_TASK_ROOT), then loops on the Lambda Runtime
// API at AWS_LAMBDA_RUNTIME_API (host:port): GET /next, call the handler, POST
// the response or the error. Standard library only.
//
// It follows the behaviour of AWS's client, aws/aws-lambda-nodejs-runtime-
// interface-client (read, not copied): src/utils/handler-path.ts (the
// handler string), src/function/module-loader.ts and dynamic-imports.ts (the
// module, tried as "", .js, .mjs, .cjs, then require.resolve),
// src/function/handler-resolver.ts (the export, a dotted path, also under the
// module's default), src/Runtime.js and src/CallbackContext.js (callbacks,
// callbackWaitsForEmptyEventLoop, the beforeExit default),
// src/function/callback-deprecation.ts (no callbacks from Node.js 24),
// src/logging/ (the text and JSON log lines) and src/utils/error.ts (the
// error bodies).

import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import * as nodeModule from "node:module"; // register is Node.js ≥ 18.19 and 20.6
import { pathToFileURL } from "node:url";
import { format } from "node:util";

const [apiHost, apiPort] = (() => {
  const api = process.env.AWS_LAMBDA_RUNTIME_API || "";
  const i = api.lastIndexOf(":");
  return [api.slice(0, i), Number(api.slice(i + 1))];
})();
// One kept-alive connection: the Runtime API accepts only this process's
// connections, and a free socket does not hold the event loop open.
const agent = new http.Agent({ keepAlive: true, maxSockets: 1, noDelay: true });

// call makes one Runtime API request; it resolves to {status, headers, body}.
function call(method, route, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: apiHost,
        port: apiPort,
        method,
        path: "/2018-06-01/runtime/" + route,
        agent,
        headers: body === undefined ? headers : { "Content-Type": "application/json", ...headers },
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

// ---- Errors, as the Runtime API takes them.

class RuntimeError extends Error {
  constructor(name, message, stack) {
    super(message);
    this.name = name;
    if (stack) this.stack = stack;
  }
}

// errorBody is Lambda's Node.js error shape: {errorType, errorMessage, trace}.
function errorBody(err) {
  try {
    if (err instanceof Error) {
      return {
        errorType: err.name,
        errorMessage: err.message,
        trace: typeof err.stack === "string" ? err.stack.split("\n") : [],
      };
    }
    return { errorType: typeof err, errorMessage: String(err), trace: [] };
  } catch {
    return { errorType: "handled", errorMessage: "the error's name, message or stack could not be read", trace: [] };
  }
}

async function postError(route, err) {
  const body = errorBody(err);
  // A header holds printable ASCII only.
  const type = String(body.errorType).replace(/[^\x20-\x7e]/g, "") || "Runtime.Unknown";
  await call("POST", route, JSON.stringify(body), { "Lambda-Runtime-Function-Error-Type": type });
}

// ---- Logs: console.* as Lambda's runtime prints them.

const LEVELS = { TRACE: 1, DEBUG: 2, INFO: 3, WARN: 4, ERROR: 5, FATAL: 6 };
const jsonLogs = (process.env.AWS_LAMBDA_LOG_FORMAT || "").toUpperCase() === "JSON";
const minLevel = LEVELS[(process.env.AWS_LAMBDA_LOG_LEVEL || "").toUpperCase()] || LEVELS.TRACE;
let requestId; // of the current invocation; undefined during init, as on Lambda

// errorFields is an Error's enumerable fields with its type, message and
// stack, for JSON.stringify.
function errorFields(_key, value) {
  if (value instanceof Error) {
    return Object.assign(
      {
        errorType: value?.constructor?.name ?? "UnknownError",
        errorMessage: value.message,
        stackTrace: typeof value.stack === "string" ? value.stack.split("\n") : value.stack,
      },
      value,
    );
  }
  return value;
}

function logLine(level, message, params) {
  const timestamp = new Date().toISOString();
  let line;
  if (!jsonLogs) {
    // Lambda turns the message's newlines into \r, one record a line; here
    // they stay newlines, which a terminal shows as lines.
    line = [timestamp, requestId, level, format(message, ...params)].join("\t");
  } else {
    const rec = { timestamp, level, requestId };
    if (params.length === 0) {
      rec.message = message;
      try {
        line = JSON.stringify(rec, errorFields);
      } catch {
        rec.message = format(message);
        line = JSON.stringify(rec);
      }
    } else {
      rec.message = format(message, ...params);
      const err = params.find((p) => p instanceof Error);
      if (err) {
        rec.errorType = err?.constructor?.name ?? "UnknownError";
        rec.errorMessage = err.message;
        rec.stackTrace = typeof err.stack === "string" ? err.stack.split("\n") : [];
      }
      line = JSON.stringify(rec);
    }
  }
  process.stdout.write(line + "\n");
}

for (const [name, level] of [
  ["trace", "TRACE"],
  ["debug", "DEBUG"],
  ["info", "INFO"],
  ["warn", "WARN"],
  ["error", "ERROR"],
  ["fatal", "FATAL"],
]) {
  console[name] = LEVELS[level] >= minLevel ? (message, ...params) => logLine(level, message, params) : () => {};
}
console.log = console.info;

// logInvokeError logs a handler's failure as Lambda does before reporting it.
function logInvokeError(label, err) {
  const e = err instanceof Error ? err : new Error(String(err));
  if (jsonLogs) {
    console.error(e);
  } else {
    let detail;
    try {
      detail = JSON.stringify(e, (_k, v) =>
        v instanceof Error
          ? Object.assign({ errorType: v.name, errorMessage: v.message, code: v.code }, v, {
              stack: typeof v.stack === "string" ? v.stack.split("\n") : v.stack,
            })
          : v,
      );
    } catch {
      detail = JSON.stringify(errorBody(e));
    }
    console.error(label, "\t" + detail);
  }
}

// ---- Loading the handler.

// Bare specifiers of ES modules resolve from NODE_PATH's folders too (only
// CommonJS honours NODE_PATH), so that the packages a runtime provides, such
// as the AWS SDK, import as on Lambda; the code's own node_modules come first.
if (process.env.NODE_PATH && typeof nodeModule.register === "function") {
  const dirs = process.env.NODE_PATH.split(path.delimiter).filter(Boolean);
  nodeModule.register(new URL("./hooks.mjs", import.meta.url), { data: { dirs } });
} else if (process.env.NODE_PATH) {
  process.stderr.write(
    `lambdaws: Node.js ${process.version} has no module.register (18.19, 20.6 and later have it): ES modules cannot import packages from NODE_PATH\n`,
  );
}

function nodeMajor() {
  const m = /^AWS_Lambda_nodejs(\d+)\.x$/.exec(process.env.AWS_EXECUTION_ENV || "");
  return m ? Number(m[1]) : 0;
}

async function loadHandler(root, handlerString) {
  if (handlerString.includes("..")) {
    throw new RuntimeError(
      "Runtime.MalformedHandlerName",
      `'${handlerString}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  // "lib/app.a.b": the module "app" in the folder "lib", its export a.b.
  const base = path.basename(handlerString);
  const moduleRoot = handlerString.slice(0, handlerString.lastIndexOf(base)).replace(/\/$/, "");
  const dot = base.indexOf(".");
  if (dot < 0) throw new RuntimeError("Runtime.MalformedHandlerName", "Bad handler");
  const moduleName = base.slice(0, dot);
  const exportPath = base.slice(dot + 1);

  let mod;
  try {
    const file = path.resolve(root, moduleRoot, moduleName);
    for (const ext of ["", ".js", ".mjs", ".cjs"]) {
      if (fs.statSync(file + ext, { throwIfNoEntry: false })?.isFile()) {
        // import() reads .js as an ES module when the nearest package.json
        // says "type": "module", and CommonJS otherwise.
        mod = await import(pathToFileURL(file + ext).href);
        break;
      }
    }
    if (mod === undefined) {
      const require = nodeModule.createRequire(path.join(root, "noop.js"));
      mod = require(require.resolve(moduleName, { paths: [root, path.join(root, moduleRoot)] }));
    }
  } catch (err) {
    if (err instanceof SyntaxError) throw new RuntimeError("Runtime.UserCodeSyntaxError", String(err), err.stack);
    if (err?.code === "MODULE_NOT_FOUND" || err?.code === "ERR_MODULE_NOT_FOUND") {
      throw new RuntimeError("Runtime.ImportModuleError", String(err));
    }
    throw err;
  }
  const find = (obj) =>
    exportPath.split(".").reduce((o, key) => (o && (typeof o === "object" || typeof o === "function") ? o[key] : undefined), obj);
  let handler = find(mod);
  if (!handler && mod && typeof mod === "object" && "default" in mod) handler = find(mod.default);
  if (!handler) throw new RuntimeError("Runtime.HandlerNotFound", `${handlerString} is undefined or not exported`);
  if (typeof handler !== "function") throw new RuntimeError("Runtime.HandlerNotFound", `${handlerString} is not a function`);
  if (handler.length >= 3 && nodeMajor() >= 24) {
    throw new RuntimeError(
      "Runtime.CallbackHandlerDeprecated",
      "ERROR: AWS Lambda has removed support for callback-based function handlers starting with Node.js 24. You need to modify this function to use a supported handler signature to use Node.js 24 or later. For more information see https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html.",
    );
  }
  return handler;
}

// ---- Invocations.

// What settles the current invocation when the event loop empties (a
// callback with callbackWaitsForEmptyEventLoop, or a handler that never
// answered); null between invocations.
let onEmptyLoop = null;
process.on("beforeExit", () => {
  const f = onEmptyLoop;
  onEmptyLoop = null;
  if (f) f();
});

// The invocation in progress, for uncaught errors.
let current = null;

let dying = false;

async function fatal(err, code) {
  if (dying) return;
  dying = true;
  try {
    if (current) {
      logInvokeError("Uncaught Exception", err);
      await postError(`invocation/${current}/error`, err);
    } else {
      await postError("init/error", err);
    }
  } finally {
    process.exit(code);
  }
}
process.on("uncaughtException", (err) => fatal(err, 129));
process.on("unhandledRejection", (reason) =>
  fatal(new RuntimeError("Runtime.UnhandledPromiseRejection", String(reason), reason?.stack), 128),
);

// invoke runs the handler for one event and resolves once the invocation
// was answered.
function invoke(handler, res) {
  const id = res.headers["lambda-runtime-aws-request-id"];
  const deadline = Number(res.headers["lambda-runtime-deadline-ms"]);
  const trace = res.headers["lambda-runtime-trace-id"];
  if (trace) process.env._X_AMZN_TRACE_ID = trace;
  else delete process.env._X_AMZN_TRACE_ID;
  requestId = id;
  current = id;

  return new Promise((resolve) => {
    let answered = false;
    const respond = (err, result) => {
      if (answered) return;
      answered = true;
      onEmptyLoop = null;
      let posted;
      if (err !== undefined && err !== null) {
        logInvokeError("Invoke Error", err);
        posted = postError(`invocation/${id}/error`, err);
      } else {
        let body;
        try {
          body = JSON.stringify(result === undefined ? null : result);
        } catch (e) {
          const se = new RuntimeError("Runtime.JSONStringifyError", "Unable to stringify response body");
          logInvokeError("Invoke Error", se);
          posted = postError(`invocation/${id}/error`, se);
        }
        posted ??= call("POST", `invocation/${id}/response`, body);
      }
      posted.then(resolve, (e) => fatal(e, 1));
    };

    let waitsForEmptyLoop = true;
    const callback = (err, result) => {
      if (answered) return;
      if ((err !== undefined && err !== null) || !waitsForEmptyLoop) {
        respond(err, result);
      } else {
        onEmptyLoop = () => setImmediate(() => respond(null, result));
      }
    };
    const context = {
      awsRequestId: id,
      invokedFunctionArn: res.headers["lambda-runtime-invoked-function-arn"],
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
      clientContext: undefined,
      identity: undefined,
      getRemainingTimeInMillis: () => deadline - Date.now(),
      get callbackWaitsForEmptyEventLoop() {
        return waitsForEmptyLoop;
      },
      set callbackWaitsForEmptyEventLoop(v) {
        waitsForEmptyLoop = v;
      },
      succeed: (result) => respond(null, result),
      fail: (err) => respond(err === undefined || err === null ? "handled" : err),
      done: (err, result) => respond(err, result),
    };
    // A handler that neither returns a promise nor calls back answers null
    // when the event loop empties; an async one that never settles fails.
    const isAsync = handler.constructor?.name === "AsyncFunction";
    onEmptyLoop = () =>
      isAsync
        ? respond(new RuntimeError("Runtime.NodeJsExit", "Runtime exited without providing a reason"))
        : respond(null, null);
    try {
      const result = handler(JSON.parse(res.body.toString("utf8")), context, callback);
      if (result && typeof result.then === "function") {
        result.then((v) => respond(null, v), (e) => respond(e ?? "handled"));
      }
    } catch (err) {
      respond(err);
    }
  });
}

let handler;
try {
  handler = await loadHandler(process.env.LAMBDA_TASK_ROOT || process.cwd(), process.env._HANDLER || "");
} catch (err) {
  logInvokeError("Uncaught Exception", err);
  await postError("init/error", err).catch(() => {});
  process.exit(129);
}
for (;;) {
  const res = await call("GET", "invocation/next");
  if (res.status !== 200) {
    process.exit(1); // the environment is stopping
  }
  await invoke(handler, res);
  current = null;
}
