// Misbehaves as the message asks, to show how the gateway answers.
export const handler = async (event) => {
  const { fail } = JSON.parse(event.body || "{}");
  if (fail === "error") {
    throw new TypeError("bad input");
  }
  if (fail === "timeout") {
    await new Promise((resolve) => setTimeout(resolve, 10000));
  }
  if (fail === "crash") {
    process.exit(3);
  }
  return { statusCode: 200, body: "fine" };
};
