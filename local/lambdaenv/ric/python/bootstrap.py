# lambdaws's runtime interface client for Python (work in progress).
