// lambdaws local's launcher of dynalite: serves it on a free loopback port
// and prints "listening PORT". Argument: the folder of its LevelDB store,
// or none for memory. It exits when its stdin closes, that is when
// lambdaws exits, however it ends.
//
// dynalite's HTTP handler rethrows a request's 'error' event, so a client
// that closes its connection while dynalite reads the body (a function
// whose context ended mid-request) would end the server with "Error:
// aborted" (ECONNRESET): on DynamoDB that costs that request only, so that
// one error is ignored (as tools/dynalite-guard.cjs does for the tests).
process.on('uncaughtException', (err) => {
  if (err && err.code === 'ECONNRESET' && err.message === 'aborted') {
    return
  }
  console.error(err)
  process.exit(1)
})
process.stdin.on('end', () => process.exit(0))
process.stdin.on('error', () => process.exit(0))
process.stdin.resume()

const options = { createTableMs: 50, deleteTableMs: 50, updateTableMs: 50 }
if (process.argv[2]) {
  options.path = process.argv[2]
}
const server = require('dynalite')(options).listen(0, '127.0.0.1', () => {
  console.log('listening ' + server.address().port)
})
