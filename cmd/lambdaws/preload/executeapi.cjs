// Loaded by lambdaws local into Node.js functions (NODE_OPTIONS --require):
// HTTPS requests to the API's own host on AWS,
// {apiId}.execute-api.{region}.amazonaws.com, go to the local gateway,
// which serves the management API there, as DNS sends them to API Gateway
// on AWS. Functions that build their management API endpoint from apiId
// (aws-samples/simple-websockets-chat-app does) then post locally.
"use strict";
const https = require("node:https");
const { syncBuiltinESMExports } = require("node:module");

const apiID = process.env.LAMBDAWS_API_ID;
const gateway = process.env.LAMBDAWS_GATEWAY; // host:port of the local gateway
const sep = gateway ? gateway.lastIndexOf(":") : -1;
const isAPIHost = (h) =>
  typeof h === "string" && new RegExp(`^${apiID}\\.execute-api\\.[a-z0-9-]+\\.amazonaws\\.com(\\.cn)?(:443)?$`).test(h);

// local rewrites request options for the API's host to the gateway.
function local(opts) {
  if (!opts || typeof opts !== "object" || !(isAPIHost(opts.hostname) || isAPIHost(opts.host))) {
    return opts;
  }
  const host = gateway.slice(0, sep).replace(/^\[|\]$/g, "");
  // The certificate is checked for localhost, which the local CA's
  // certificate names (the Host header keeps the AWS name).
  return { ...opts, host, hostname: host, port: Number(gateway.slice(sep + 1)), servername: "localhost" };
}

function wrap(fn) {
  return function (...args) {
    if (typeof args[0] === "string" || args[0] instanceof URL) {
      const u = new URL(args[0]);
      if (isAPIHost(u.host)) {
        const extra = args[1] && typeof args[1] === "object" ? args[1] : {};
        const rest = args.slice(extra === args[1] ? 2 : 1);
        return fn.call(this, local({ ...extra, protocol: u.protocol, hostname: u.hostname, path: u.pathname + u.search }), ...rest);
      }
      return fn.apply(this, args);
    }
    return fn.call(this, local(args[0]), ...args.slice(1));
  };
}

if (apiID && sep > 0) {
  https.request = wrap(https.request);
  https.get = wrap(https.get);
  syncBuiltinESMExports();
}
