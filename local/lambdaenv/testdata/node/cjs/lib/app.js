// Handler lib/app.handler: a module in a folder.
exports.handler = async (event) => ({ from: "lib/app.js", event });
