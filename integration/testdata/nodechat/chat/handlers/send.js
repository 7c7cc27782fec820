import { ApiGatewayManagementApiClient, PostToConnectionCommand } from "@aws-sdk/client-apigatewaymanagementapi";
import { GetCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { db, table } from "./db.js";

export const handler = async (event, context) => {
  const { apiId, stage, connectionId } = event.requestContext;
  // The API's own host on AWS, as aws-samples/simple-websockets-chat-app
  // builds it: lambdaws local sends it to the local gateway.
  const api = new ApiGatewayManagementApiClient({
    endpoint: `https://${apiId}.execute-api.${process.env.AWS_REGION}.amazonaws.com/${stage}`,
  });
  const me = await db.send(new GetCommand({ TableName: table, Key: { connectionId } }));
  const text = `${me.Item.name}: ${JSON.parse(event.body).data} (${context.functionName})`;
  const { Items } = await db.send(new ScanCommand({ TableName: table }));
  await Promise.all(Items.map((c) =>
    api.send(new PostToConnectionCommand({ ConnectionId: c.connectionId, Data: text })).catch((e) => {
      if (e.$metadata?.httpStatusCode !== 410) throw e;
    })));
  return { statusCode: 200 };
};
