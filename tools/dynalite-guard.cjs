// Preloaded into dynalite by internal/testenv (node --require). dynalite's
// HTTP handler rethrows a request's 'error' event (req.on('error', function
// (err) { throw err })), so a client that closes its connection while
// dynalite reads the body -- a Go call whose context ends mid-request, as
// when a caller stops reading a sharded channel's listing early -- ends the
// whole server with "Error: aborted" (ECONNRESET), and every later test of
// the package fails with "connection refused". On DynamoDB a cancelled
// request costs that request only: ignore exactly that error, and keep
// Node's default (print it, exit 1) for every other.
process.on('uncaughtException', (err) => {
  if (err && err.code === 'ECONNRESET' && err.message === 'aborted') {
    return
  }
  console.error(err)
  process.exit(1)
})
