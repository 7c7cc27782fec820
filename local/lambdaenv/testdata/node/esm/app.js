// An ES module (package.json says "type": "module") with an async handler
// that reports what it sees; a module-level counter shows warm reuse.
let count = 0;

export const handler = async (event, context) => {
  count++;
  return {
    count,
    pid: process.pid,
    event,
    awsRequestId: context.awsRequestId,
    functionName: context.functionName,
    functionVersion: context.functionVersion,
    invokedFunctionArn: context.invokedFunctionArn,
    memoryLimitInMB: context.memoryLimitInMB,
    logGroupName: context.logGroupName,
    logStreamName: context.logStreamName,
    remaining: context.getRemainingTimeInMillis(),
    waits: context.callbackWaitsForEmptyEventLoop,
    trace: process.env._X_AMZN_TRACE_ID,
    handlerEnv: process.env._HANDLER,
    taskRoot: process.env.LAMBDA_TASK_ROOT,
    cwd: process.cwd(),
  };
};

// Nested export path: Handler app.nested.deep.fn.
export const nested = { deep: { fn: async () => "nested" } };

export const fails = async () => {
  class ChatError extends Error {
    constructor(message) {
      super(message);
      this.name = "ChatError";
    }
  }
  throw new ChatError("no such room");
};

export const logs = async (event) => {
  console.debug("debug line");
  console.info("info line", { n: 1 });
  console.log("log line %d", 2);
  console.warn("warn line");
  console.error("error line", new Error("inner"));
  return "logged";
};

export const crash = async () => {
  process.exit(3);
};

export const sleep = async () => {
  await new Promise((resolve) => setTimeout(resolve, 60_000));
  return "woke";
};

// Throws outside the handler's promise: the runtime reports the error and
// exits, as Lambda's does.
export const uncaught = async () => {
  setTimeout(() => {
    throw new URIError("thrown from a timer");
  }, 10);
  await new Promise(() => {});
};

// Rejects a promise nobody awaits.
export const rejects = async () => {
  Promise.reject(new Error("nobody listens"));
  await new Promise((resolve) => setTimeout(resolve, 5000));
  return "late";
};
