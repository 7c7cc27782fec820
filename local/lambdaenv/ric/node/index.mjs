// lambdaws's runtime interface client for Node.js (work in progress).
