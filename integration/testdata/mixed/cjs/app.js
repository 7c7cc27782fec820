// A CommonJS handler in the callback style: it answers each message through
// the management API, with the SDK the runtime provides.
const { ApiGatewayManagementApiClient, PostToConnectionCommand } = require("@aws-sdk/client-apigatewaymanagementapi");
const greeting = require("greeting");

exports.handler = function (event, context, callback) {
  const { domainName, stage, connectionId } = event.requestContext;
  const api = new ApiGatewayManagementApiClient({ endpoint: `https://${domainName}/${stage}` });
  const text = `${greeting(event.body)} (${context.functionName}, ${context.getRemainingTimeInMillis() > 0})`;
  api.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: text }))
    .then(() => callback(null, { statusCode: 200 }), callback);
};
