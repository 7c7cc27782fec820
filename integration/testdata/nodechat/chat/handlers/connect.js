import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { db, table } from "./db.js";

export const handler = async (event) => {
  const name = event.queryStringParameters?.name;
  if (!name) {
    return { statusCode: 400, body: "a name is required" };
  }
  await db.send(new PutCommand({ TableName: table, Item: { connectionId: event.requestContext.connectionId, name } }));
  return { statusCode: 200 };
};
