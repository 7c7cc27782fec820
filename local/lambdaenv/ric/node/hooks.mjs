// Module resolution hooks of lambdaws's Node.js runtime interface client
// (registered by index.mjs with module.register): a bare specifier that the
// usual resolution does not find, from an ES module, is looked up in the
// folders of NODE_PATH, as CommonJS's require looks it up. So packages that
// Lambda's runtime provides (the AWS SDK for JavaScript v3) import as on
// Lambda, while the code's own node_modules still win.

import path from "node:path";
import { pathToFileURL } from "node:url";

let dirs = [];

export function initialize(data) {
  dirs = data?.dirs ?? [];
}

// bare reports whether specifier names a package: not a relative or
// absolute path, a URL (node:, file:, data:) or a package import (#x).
function bare(specifier) {
  return !/^(\.{0,2}\/|#)/.test(specifier) && !/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(specifier);
}

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (err) {
    if (err?.code !== "ERR_MODULE_NOT_FOUND" || !bare(specifier)) throw err;
    for (const dir of dirs) {
      try {
        // As if imported by a module in dir: node_modules lookups start in
        // dir/node_modules, then dir itself when it is a node_modules.
        return await next(specifier, { ...context, parentURL: pathToFileURL(path.join(dir, "noop.mjs")).href });
      } catch (e) {
        if (e?.code !== "ERR_MODULE_NOT_FOUND") throw e;
      }
    }
    throw err;
  }
}
