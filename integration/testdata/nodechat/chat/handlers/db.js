// The table of open connections, through the SDK that Lambda's runtime provides.
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

export const table = process.env.TABLE_NAME;
export const db = DynamoDBDocumentClient.from(new DynamoDBClient({}));
