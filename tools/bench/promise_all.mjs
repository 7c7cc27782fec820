// The AWS chat sample's broadcast (aws-samples/simple-websockets-chat-app,
// sendmessage), on the AWS SDK for JavaScript v3: one PostToConnection per
// connection, all started at once, awaited with Promise.all.
//
//   node promise_all.mjs ENDPOINT N MESSAGE   (run by internal/peerbench)
//
// Prints {"wall_s": …}: the time from the first call to the last answer.
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";

const [endpoint, nArg, message] = process.argv.slice(2);
const n = Number(nArg);
const client = new ApiGatewayManagementApiClient({ endpoint });
const ids = Array.from({ length: n }, (_, i) => `conn-${i}=`);
const data = Buffer.from(message);

const start = process.hrtime.bigint();
await Promise.all(
  ids.map((id) =>
    client.send(new PostToConnectionCommand({ ConnectionId: id, Data: data })),
  ),
);
const wall = Number(process.hrtime.bigint() - start) / 1e9;
console.log(JSON.stringify({ wall_s: wall }));
