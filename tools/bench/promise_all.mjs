// The AWS chat sample's broadcast (aws-samples/simple-websockets-chat-app,
// sendmessage), on the AWS SDK for JavaScript v3: one PostToConnection per
// connection, all started at once, awaited with Promise.all.
//
//   node promise_all.mjs ENDPOINT N MESSAGE WARM   (run by internal/peerbench)
//
// Sends to WARM ids first (keep-alive connections open, as in a warm Lambda),
// waits PEERBENCH_PAUSE (e.g. "600ms", if set), then sends to N and prints
// {"wall_s": …, "cpu_s": …, "failed": …} for those: the time from the first
// call to the last answer (or failure: Promise.all rejects at the first, but
// the other calls go on, so all are awaited), the process's CPU time
// meanwhile, and the calls that failed after the SDK's retries.
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";

const [endpoint, nArg, message, warmArg] = process.argv.slice(2);
const n = Number(nArg);
const client = new ApiGatewayManagementApiClient({ endpoint });
const data = Buffer.from(message);
const broadcast = async (ids) => {
  const calls = ids.map((id) =>
    client.send(new PostToConnectionCommand({ ConnectionId: id, Data: data })),
  );
  try {
    await Promise.all(calls);
    return 0;
  } catch {
    const results = await Promise.allSettled(calls);
    return results.filter((r) => r.status === "rejected").length;
  }
};
await broadcast(Array.from({ length: Number(warmArg) }, (_, i) => `warm-${i}=`));
const pause = process.env.PEERBENCH_PAUSE;
if (pause) {
  const ms = pause.endsWith("ms") ? parseFloat(pause) : parseFloat(pause) * 1000;
  await new Promise((resolve) => setTimeout(resolve, ms));
}
const ids = Array.from({ length: n }, (_, i) => `conn-${i}=`);

const cpu0 = process.cpuUsage();
const start = process.hrtime.bigint();
const failed = await broadcast(ids);
const wall = Number(process.hrtime.bigint() - start) / 1e9;
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ wall_s: wall, cpu_s: (cpu.user + cpu.system) / 1e6, failed }));
