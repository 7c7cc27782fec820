import { DeleteCommand } from "@aws-sdk/lib-dynamodb";
import { db, table } from "./db.js";

export async function handler(event) {
  await db.send(new DeleteCommand({ TableName: table, Key: { connectionId: event.requestContext.connectionId } }));
  return { statusCode: 200 };
}
