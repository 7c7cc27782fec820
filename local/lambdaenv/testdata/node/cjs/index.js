// A CommonJS module with a callback-style handler, as older samples write.
let count = 0;

exports.handler = function (event, context, callback) {
  count++;
  setTimeout(() => callback(null, { count, pid: process.pid, style: "callback", id: context.awsRequestId }), 10);
};

// Calls back with an error.
exports.fails = function (event, context, callback) {
  callback(new TypeError("bad input"));
};

// Calls back, then keeps a timer of event.ms: the response waits for the
// event loop to empty unless callbackWaitsForEmptyEventLoop is false.
exports.lingers = function (event, context, callback) {
  context.callbackWaitsForEmptyEventLoop = event.wait;
  setTimeout(() => {}, event.ms);
  callback(null, "done");
};

// Never answers: the response is null once the event loop is empty.
exports.silent = function (event, context, callback) {};

exports.notAFunction = 42;
